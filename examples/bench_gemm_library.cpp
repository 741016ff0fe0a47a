// The GPT step's matrix products through minidl::matmul, at one thread, in whichever library runs
// them here (MINIDL_GEMM and the CPU decide: kernels/cpu/gemm.cpp). scripts/bench-gemm runs this
// program with MINIDL_GEMM=openblas and =onednn, alternately, in both OpenBLAS environments, and
// prints the rates side by side.
//
//   build/examples/bench_gemm_library [--reps 30]
// prints one JSON object: {"gemm": "onednn", "shapes": {"768x384x128 NT": GFLOP/s, …}}, each the
// best of reps calls (the rate the library can reach on this shape; the machine is shared).
#include <minidl/minidl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace minidl;

namespace {

struct Shape3 {
  int64_t m, n, k;
  bool ta, tb;  // operands stored transposed, as the step's backward multiplies them
};

// The reference GPT (B·T = 768 rows, C = 128, 4C = 512, 3C = 384, vocab 114): each Linear's
// forward x·Wᵀ (NT), its input gradient dy·W (NN) and its weight gradient dyᵀ·x (TN).
const std::vector<Shape3> kShapes = {
    {768, 384, 128, false, true},  {768, 128, 128, false, true},  {768, 512, 128, false, true},
    {768, 128, 512, false, true},  {768, 114, 128, false, true},  {768, 128, 384, false, false},
    {768, 128, 512, false, false}, {768, 512, 128, false, false}, {384, 128, 768, true, false},
    {512, 128, 768, true, false},  {128, 512, 768, true, false},  {114, 128, 768, true, false},
};

Tensor operand(int64_t rows, int64_t cols, bool transposed, Generator& gen) {
  return transposed ? Tensor::randn({cols, rows}, gen).transpose(0, 1) : Tensor::randn({rows, cols}, gen);
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 30;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--reps") && i + 1 < argc && std::atoi(argv[i + 1]) > 0) {
      reps = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--reps N]\n", argv[0]);
      return 2;
    }
  }
  set_num_threads(1);
  Generator gen(0);
  std::string json = "{\"gemm\": \"" + gemm_library() + "\", \"shapes\": {";
  for (size_t s = 0; s < kShapes.size(); ++s) {
    const Shape3& g = kShapes[s];
    const Tensor a = operand(g.m, g.k, g.ta, gen), b = operand(g.k, g.n, g.tb, gen);
    double best = 1e30;
    for (int r = 0; r < reps + 3; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      const Tensor c = matmul(a, b);
      const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (r >= 3) best = std::min(best, dt);  // the first calls warm the caches and the allocator
    }
    char entry[96];
    std::snprintf(entry, sizeof entry, "%s\"%lldx%lldx%lld %c%c\": %.1f", s ? ", " : "", static_cast<long long>(g.m),
                  static_cast<long long>(g.n), static_cast<long long>(g.k), g.ta ? 'T' : 'N', g.tb ? 'T' : 'N',
                  2.0 * g.m * g.n * g.k / best / 1e9);
    json += entry;
  }
  std::printf("%s}}\n", json.c_str());
  return 0;
}
