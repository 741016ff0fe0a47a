// Benchmark: minidl::matmul against a direct cblas_sgemm call on the same memory, in the same run
// (minidl's GEMMs are pinned to OpenBLAS here: MINIDL_GEMM=openblas).
// Shapes: an MLP layer's forward [64×784]·[784×256], the two products its backward needs — with
// transposed operands, which minidl must hand to BLAS as transpose flags, not copies — and 1024³.
// Rounds of ~10 ms alternate raw, minidl, raw, minidl …; each figure is the median over rounds, and
// the ratio the median of the per-round ratios (the machine's noise hits both sides of a pair).
//
//   build/examples/bench_matmul [--threads N] [--rounds R] [--quick]
#include <cblas.h>
#include <minidl/minidl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace minidl;
using Clock = std::chrono::steady_clock;

namespace {

struct Case {
  const char* name;
  Tensor a, b;  // operands as minidl sees them (possibly transposed views)
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Seconds per call of f, timed over `reps` calls.
template <class F>
double time_per_call(F&& f, int reps) {
  const auto t0 = Clock::now();
  for (int i = 0; i < reps; ++i) f();
  return std::chrono::duration<double>(Clock::now() - t0).count() / reps;
}

// The same product as matmul(a, b), straight into cblas_sgemm: operand layouts read off the views.
void raw_sgemm(const Tensor& a, const Tensor& b, float* c) {
  const int m = static_cast<int>(a.shape()[0]), k = static_cast<int>(a.shape()[1]), n = static_cast<int>(b.shape()[1]);
  const bool ta = a.strides()[1] != 1, tb = b.strides()[1] != 1;
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.f,
              a.data<float>(), static_cast<int>(ta ? a.strides()[1] : a.strides()[0]), b.data<float>(),
              static_cast<int>(tb ? b.strides()[1] : b.strides()[0]), 0.f, c, n);
}

}  // namespace

int main(int argc, char** argv) {
  // What is measured is matmul's own cost over the BLAS call it makes, so both sides must call the
  // same library: minidl would otherwise run oneDNN's sgemm on an AVX-512 CPU (kernels/cpu/gemm.cpp).
  setenv("MINIDL_GEMM", "openblas", 1);
  int threads = num_threads(), rounds = 41;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc)
      threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc)
      rounds = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--quick"))
      quick = true;
    else {
      std::fprintf(stderr, "usage: %s [--threads N] [--rounds R] [--quick]\n", argv[0]);
      return 2;
    }
  }
  if (quick) rounds = 1;
  set_num_threads(threads);

  Generator gen(0);
  const Tensor x = Tensor::randn({64, 784}, gen), w = Tensor::randn({784, 256}, gen);
  const Tensor dy = Tensor::randn({64, 256}, gen), big_a = Tensor::randn({1024, 1024}, gen),
               big_b = Tensor::randn({1024, 1024}, gen);
  const std::vector<Case> cases = {
      {"forward  X*W    [64x784]*[784x256]", x, w},
      {"dX = dY*W^T    [64x256]*[256x784]", dy, w.transpose(0, 1)},
      {"dW = X^T*dY    [784x64]*[64x256]", x.transpose(0, 1), dy},
      {"square         [1024^3]", big_a, big_b},
  };

  std::printf("minidl::matmul vs cblas_sgemm, %d thread(s), %d round(s), median GFLOP/s\n", threads, rounds);
  std::printf("%-36s %8s %8s %7s %12s\n", "shape", "sgemm", "minidl", "ratio", "allocs/call");
  for (const Case& c : cases) {
    const double m = static_cast<double>(c.a.shape()[0]), k = static_cast<double>(c.a.shape()[1]),
                 n = static_cast<double>(c.b.shape()[1]);
    const double flop = 2 * m * k * n;
    // ~10 ms per timing: short rounds, finely interleaved, so both sides see the same machine noise.
    const int reps = quick ? 1 : std::max(1, static_cast<int>(0.01 / (flop / 100e9)));
    std::vector<float> c_raw(static_cast<size_t>(m * n));
    Tensor out;
    auto run_raw = [&] { raw_sgemm(c.a, c.b, c_raw.data()); };
    auto run_minidl = [&] { out = matmul(c.a, c.b); };
    run_raw();
    run_minidl();  // warm up both (BLAS buffers, the allocator's cache)

    const int64_t before = memory_stats().requests;
    run_minidl();
    const int64_t allocs = memory_stats().requests - before;  // 1 = the output alone, no operand copies

    std::vector<double> raw_s, minidl_s, ratios;
    for (int r = 0; r < rounds; ++r) {
      raw_s.push_back(time_per_call(run_raw, reps));
      minidl_s.push_back(time_per_call(run_minidl, reps));
      ratios.push_back(raw_s.back() / minidl_s.back());
    }
    const std::vector<float> got = out.to_vector();
    double max_diff = 0;
    for (size_t i = 0; i < got.size(); ++i) max_diff = std::max(max_diff, double(std::fabs(got[i] - c_raw[i])));
    std::printf("%-36s %8.1f %8.1f %6.3fx %12lld%s\n", c.name, flop / median(raw_s) / 1e9,
                flop / median(minidl_s) / 1e9, median(ratios), static_cast<long long>(allocs),
                max_diff == 0 ? "" : "  (results differ!)");
    if (max_diff != 0) return 1;
  }
  std::printf("ratio = minidl GFLOP/s / sgemm GFLOP/s (median of per-round ratios); target >= 0.95\n");
  return 0;
}
