// The language-model ops one at a time, at the reference GPT's shapes (B = 12, T = 64, C = 128,
// 4 heads, vocab 114), forward + backward with a fixed upstream gradient: the minidl side of
// scripts/bench-lm-ops, which times the same ops in PyTorch in the same run and prints the ratios.
//
//   build/examples/bench_lm_ops [--reps 200] [--threads 1]
// prints one JSON object: {"embedding": ms, "layer_norm": ms, …}, each the median over reps.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include <minidl/minidl.h>

using namespace minidl;
namespace F = minidl::nn::functional;

namespace {

constexpr int64_t B = 12, T = 64, C = 128, H = 4, V = 114;

double median_ms(int reps, const std::function<void()>& body) {
  std::vector<double> ms;
  for (int i = 0; i < reps + 5; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    body();
    const double dt = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (i >= 5) ms.push_back(dt);  // the first few warm the caches and the allocator
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

Tensor leaf(Shape s, Generator& gen, float std = 1.f) {
  Tensor t = Tensor::randn(std::move(s), gen);
  t.mul_(std);
  return t.set_requires_grad();
}

// Forward, then backward of sum(y ⊙ r): the op's backward gets a dense upstream gradient.
void forward_backward(const std::function<Tensor()>& forward, const Tensor& r) {
  const Tensor y = forward();
  sum(y * r).backward();
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 200, threads = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const int value = std::atoi(argv[i + 1]);
    if ((flag != "--reps" && flag != "--threads") || value < 1) {
      std::fprintf(stderr, "bench_lm_ops: bad flag or value: %s %s\n", argv[i], argv[i + 1]);
      return 2;
    }
    (flag == "--reps" ? reps : threads) = value;
  }
  set_num_threads(threads);
  Generator gen(0);
  std::vector<int32_t> tokens(B * T);
  for (int32_t& t : tokens) t = static_cast<int32_t>(gen.next_u64() % V);
  const Tensor idx = Tensor::from_vector(tokens, {B, T});
  const Tensor wte = leaf({V, C}, gen, 0.02f), x = leaf({B, T, C}, gen), w = leaf({C}, gen), b = leaf({C}, gen);
  const Tensor fc_w = leaf({4 * C, C}, gen, 0.02f), fc_b = leaf({4 * C}, gen);
  const Tensor qkv = leaf({B, T, 3 * C}, gen), logits = leaf({B * T, V}, gen);
  const Tensor r_c = Tensor::randn({B, T, C}, gen), r_4c = Tensor::randn({B * T, 4 * C}, gen);
  const Tensor x2 = leaf({B * T, C}, gen);

  std::vector<std::pair<std::string, double>> out;
  out.emplace_back("embedding", median_ms(reps, [&] { forward_backward([&] { return F::embedding(idx, wte); }, r_c); }));
  out.emplace_back("layer_norm", median_ms(reps, [&] {
                     forward_backward([&] { return F::layer_norm(x, {C}, w, b); }, r_c);
                   }));
  out.emplace_back("linear_gelu", median_ms(reps, [&] {
                     forward_backward([&] { return F::linear(x2, fc_w, fc_b, F::Activation::gelu); }, r_4c);
                   }));
  out.emplace_back("causal_attention", median_ms(reps, [&] {
                     forward_backward([&] { return F::self_attention(qkv, H, true); }, r_c);
                   }));
  out.emplace_back("cross_entropy", median_ms(reps, [&] {
                     std::vector<int32_t> t(tokens.begin(), tokens.end());
                     const Tensor loss = F::cross_entropy(logits, Tensor::from_vector(t, {B * T}));
                     loss.backward();
                   }));
  std::printf("{");
  for (size_t i = 0; i < out.size(); ++i)
    std::printf("%s\"%s\": %.4f", i ? ", " : "", out[i].first.c_str(), out[i].second);
  std::printf("}\n");
  return 0;
}
