// The language-model ops (issue 26): values and gradients against PyTorch's (committed references,
// scripts/gen_ops_reference.py), a gradcheck of every op, the fused attention against its
// spelled-out form, the shared per-element math against double precision, and the errors.
#include <doctest/doctest.h>

#include <cmath>
#include <set>
#include <string>

#include <minidl/minidl.h>
#include "kernels/attention_math.h"
#include "kernels/elementwise_math.h"
#include "kernels/layer_norm_math.h"
#include "ops_table.h"
#include "testing.h"

using namespace minidl;
namespace F = minidl::nn::functional;

namespace {

constexpr double kEps = 1.1920929e-07;  // float32 machine epsilon

// |actual − expected| ≤ 1e-5·|expected| + terms·eps·scale: the relative bound, plus the
// rounding that two float32 computations summing `terms` products in different orders may differ
// by, relative to the tensor's largest magnitude `scale` (it dominates only for elements that are
// the small difference of large terms, e.g. a layer-norm gradient, or zero).
void expect_close(const std::vector<float>& actual, const std::vector<float>& expected, int terms,
                  const std::string& what) {
  REQUIRE_MESSAGE(actual.size() == expected.size(), what);
  double scale = 0.0;
  for (float e : expected) scale = std::max(scale, std::isfinite(e) ? std::abs(double(e)) : 0.0);
  for (size_t i = 0; i < actual.size(); ++i) {
    const double a = actual[i], e = expected[i];
    if (std::isinf(e)) {
      CHECK_MESSAGE(a == e, what, " element ", i);
      continue;
    }
    const double tol = 1e-5 * std::abs(e) + terms * kEps * scale;
    CHECK_MESSAGE(std::abs(a - e) <= tol, what, " element ", i, ": ", a, " vs ", e, " (tolerance ", tol, ")");
  }
}

// The most products any element of these small cases sums (attention: S·D + D, matmul: K).
constexpr int kTerms = 32;

}  // namespace

TEST_SUITE("ops") {
  TEST_CASE("every reference case has an op, and every op a reference case") {
    std::set<std::string> names;
    for (const auto& c : ops_reference::cases) names.insert(c.name);
    std::set<std::string> ops;
    for (const auto& [name, fn] : ops_table::ops()) ops.insert(name);
    CHECK(names == ops);
    CHECK(names.size() >= 30);
  }

  TEST_CASE("values and gradients match PyTorch within 1e-5 relative") {
    for (const auto& c : ops_reference::cases) {
      INFO("case ", c.name);
      const auto in = ops_table::inputs_of(c);
      const Tensor y = ops_table::ops().at(c.name)(in);
      CHECK(y.shape() == Shape(std::span<const int64_t>(c.output.shape)));
      expect_close(y.to_vector(), c.output.values, kTerms, c.name + " value");
      y.backward(ops_table::make(c.direction, false));
      for (size_t i = 0; i < in.size(); ++i)
        if (!c.grads[i].values.empty())
          expect_close(in[i].grad().to_vector(), c.grads[i].values, kTerms, c.name + " grad " + std::to_string(i));
    }
  }

  TEST_CASE("gradcheck: every op on its reference inputs") {
    for (const auto& c : ops_reference::cases) {
      INFO("case ", c.name);
      const auto r = autograd::gradcheck(ops_table::ops().at(c.name), ops_table::inputs_of(c));
      INFO(r.report);
      CHECK(r.ok);
    }
  }

  TEST_CASE("gradcheck: broadcast matmul on transposed operands, stack at the end, cat of more than 8 tensors") {
    Generator gen(7);
    const Tensor a = Tensor::randn({3, 2, 5, 4}, gen).set_requires_grad();
    const Tensor b = Tensor::randn({2, 3, 5}, gen).set_requires_grad();  // used as [2, 5, 3] transposed
    auto r = autograd::gradcheck(
        [](const auto& in) { return matmul(in[0].transpose(-1, -2), in[1].transpose(-1, -2)); }, {a, b});
    INFO(r.report);
    CHECK(r.ok);
    std::vector<Tensor> many;
    for (int i = 0; i < 11; ++i) many.push_back(Tensor::randn({2, 1 + i % 3}, gen).set_requires_grad());
    r = autograd::gradcheck([](const auto& in) { return cat(in, -1) * cat(in, 1); }, many);
    CHECK(r.ok);
    CHECK(cat(many, 1).shape() == Shape{2, 21});
    r = autograd::gradcheck([](const auto& in) { return stack(in, -1); }, {many[0], many[3]});
    CHECK(r.ok);
    CHECK(stack({many[0], many[3]}, -1).shape() == Shape{2, 1, 2});
  }

  TEST_CASE("fused attention equals matmul, masked_fill, softmax, matmul in value and gradient") {
    Generator gen(11);
    for (const bool causal : {true, false}) {
      INFO("causal ", causal);
      const int64_t b = 2, h = 3, t = 9, d = 8;
      const Tensor q = Tensor::randn({b, h, t, d}, gen).set_requires_grad();
      const Tensor k = Tensor::randn({b, h, t, d}, gen).set_requires_grad();
      const Tensor v = Tensor::randn({b, h, t, d}, gen).set_requires_grad();
      const Tensor r = Tensor::randn({b, h, t, d}, gen);
      const Tensor fused = F::scaled_dot_product_attention(q, k, v, causal);
      sum(fused * r).backward();
      const std::vector<Tensor> g{q.grad(), k.grad(), v.grad()};
      for (Tensor x : {q, k, v}) x.set_grad(Tensor{});
      Tensor scores = matmul(q, k.transpose(-1, -2)) * (1.f / std::sqrt(float(d)));
      if (causal) scores = masked_fill(scores, eq(tril(Tensor::ones({t, t})), 0.f), -INFINITY);
      const Tensor spelled = matmul(softmax(scores, -1), v);
      sum(spelled * r).backward();
      const int terms = static_cast<int>(t * d + d);
      expect_close(fused.to_vector(), spelled.to_vector(), terms, "value");
      expect_close(g[0].to_vector(), q.grad().to_vector(), terms, "dq");
      expect_close(g[1].to_vector(), k.grad().to_vector(), terms, "dk");
      expect_close(g[2].to_vector(), v.grad().to_vector(), terms, "dv");
    }
  }

  // The heads of one [B, T, 3C] projection, read where they lie (strided), over more query rows
  // than one block (16) and a head size that is not a whole number of 16-float tiles; and T ≠ S.
  TEST_CASE("fused attention reads head-split views in place, self_attention too, and both equal the spelled-out form") {
    Generator gen(5);
    const int64_t b = 2, t = 37, h = 3, d = 20, c = h * d;
    for (const bool causal : {true, false}) {
      INFO("causal ", causal);
      Tensor qkv = Tensor::randn({b, t, 3 * c}, gen);
      qkv.set_requires_grad();
      const Tensor r = Tensor::randn({b, t, c}, gen);
      const auto heads = [&](const Tensor& x) {
        std::vector<Tensor> parts = split(x, c, 2);
        for (Tensor& p : parts) p = p.view({b, t, h, d}).transpose(1, 2);
        return parts;
      };
      std::vector<Tensor> p = heads(qkv);
      const Tensor fused = F::scaled_dot_product_attention(p[0], p[1], p[2], causal);
      CHECK(fused.shape() == Shape{b, h, t, d});
      const Tensor merged = fused.transpose(1, 2).reshape({b, t, c});
      sum(merged * r).backward();
      const Tensor dfused = qkv.grad();
      qkv.set_grad(Tensor{});
      p = heads(qkv);
      Tensor scores = matmul(p[0].contiguous(), p[1].contiguous().transpose(-1, -2)) * (1.f / std::sqrt(float(d)));
      if (causal) scores = masked_fill(scores, eq(tril(Tensor::ones({t, t})), 0.f), -INFINITY);
      const Tensor spelled = matmul(softmax(scores, -1), p[2].contiguous()).transpose(1, 2).reshape({b, t, c});
      sum(spelled * r).backward();
      const int terms = static_cast<int>(t * d + d);
      expect_close(merged.to_vector(), spelled.to_vector(), terms, "value");
      expect_close(dfused.to_vector(), qkv.grad().to_vector(), terms, "dqkv");
      // self_attention: the same op on the packed projection, as one node.
      const Tensor dspelled = qkv.grad();
      qkv.set_grad(Tensor{});
      const Tensor packed = F::self_attention(qkv, h, causal);
      CHECK(packed.shape() == Shape{b, t, c});
      sum(packed * r).backward();
      expect_close(packed.to_vector(), spelled.to_vector(), terms, "self_attention value");
      expect_close(qkv.grad().to_vector(), dspelled.to_vector(), terms, "self_attention dqkv");
    }
    // Fewer queries than keys and more (PyTorch's top-left causal alignment: with T > S the last
    // rows see all S keys), contiguous and transposed.
    for (const auto [t, s] : {std::pair<int64_t, int64_t>{5, 21}, {21, 5}})
      for (const bool causal : {true, false}) {
        INFO("T ", t, " S ", s, " causal ", causal);
        const Tensor q = Tensor::randn({2, t, 20}, gen).set_requires_grad();
        const Tensor k = Tensor::randn({2, s, 20}, gen).set_requires_grad();
        const Tensor v = Tensor::randn({2, 20, s}, gen).set_requires_grad();
        // v transposed: [2, S, 20] whose rows are strided, copied before the kernel.
        const Tensor fused = F::scaled_dot_product_attention(q, k, v.transpose(1, 2), causal);
        sum(fused).backward();
        const std::vector<Tensor> g{q.grad(), k.grad(), v.grad()};
        for (Tensor x : {q, k, v}) x.set_grad(Tensor{});
        Tensor scores = matmul(q, k.transpose(-1, -2)) * (1.f / std::sqrt(20.f));
        if (causal) scores = masked_fill(scores, eq(tril(Tensor::ones({t, s})), 0.f), -INFINITY);
        const Tensor spelled = matmul(softmax(scores, -1), v.transpose(1, 2));
        sum(spelled).backward();
        const int terms = static_cast<int>(std::max(t, s) * 20);
        expect_close(fused.to_vector(), spelled.to_vector(), terms, "value");
        expect_close(g[0].to_vector(), q.grad().to_vector(), terms, "dq");
        expect_close(g[1].to_vector(), k.grad().to_vector(), terms, "dk");
        expect_close(g[2].to_vector(), v.grad().to_vector(), terms, "dv");
      }
  }

  // A key a query row does not see never reaches it: a NaN in the last key's value (or key) leaves
  // the earlier rows' outputs and gradients finite, as the row-at-a-time math and CUDA give.
  TEST_CASE("causal fused attention keeps a NaN at a later key out of earlier rows") {
    Generator gen(3);
    const int64_t t = 19, d = 8;
    std::vector<float> kv = Tensor::randn({1, t, d}, gen).to_vector();
    for (int64_t c = 0; c < d; ++c) kv[(t - 1) * d + c] = NAN;
    const Tensor q = Tensor::randn({1, t, d}, gen).set_requires_grad();
    const Tensor k = Tensor::from_vector(kv, {1, t, d}).set_requires_grad();
    const Tensor v = Tensor::from_vector(kv, {1, t, d}).set_requires_grad();
    const Tensor out = F::scaled_dot_product_attention(q, k, v, true);
    sum(out).backward();
    const std::vector<float> o = out.to_vector(), dq = q.grad().to_vector();
    for (int64_t i = 0; i < (t - 1) * d; ++i) {
      REQUIRE(std::isfinite(o[i]));
      REQUIRE(std::isfinite(dq[i]));
    }
    CHECK(std::isnan(o[(t - 1) * d]));  // the last row sees the NaN
  }


  TEST_CASE("comparisons give float32 masks of 1 and 0, and where keeps inf out of the branch not taken") {
    const Tensor a = Tensor::from_vector({1.f, 2.f, NAN, -1.f}, {4});
    const Tensor b = Tensor::from_vector({1.f, 3.f, 0.f, -2.f}, {4});
    CHECK(eq(a, b).dtype() == DType::float32);
    CHECK(eq(a, b).to_vector() == std::vector<float>{1, 0, 0, 0});
    CHECK(ne(a, b).to_vector() == std::vector<float>{0, 1, 1, 1});
    CHECK(lt(a, b).to_vector() == std::vector<float>{0, 1, 0, 0});
    CHECK(le(a, b).to_vector() == std::vector<float>{1, 1, 0, 0});
    CHECK(gt(a, b).to_vector() == std::vector<float>{0, 0, 0, 1});
    CHECK(ge(a, 1.f).to_vector() == std::vector<float>{1, 1, 0, 0});
    const Tensor x = Tensor::from_vector({INFINITY, 5.f, -INFINITY}, {3}, true);
    const Tensor y = where(Tensor::from_vector({0, 1, 0}, {3}), Tensor::zeros({3}), x);
    CHECK(y.to_vector() == std::vector<float>{INFINITY, 0.f, -INFINITY});
    sum(masked_fill(x, Tensor::from_vector({1.f, 0.f, 1.f}, {3}), 0.f)).backward();
    CHECK(x.grad().to_vector() == std::vector<float>{0, 1, 0});
    CHECK(std::isnan(maximum(Tensor::from_vector({NAN}, {1}), Tensor::ones({1})).item()));
  }

  TEST_CASE("split and chunk return views, and embedding's gradient adds repeated rows, the same on every run") {
    const Tensor x = Tensor::arange(10).to(DType::float32).reshape({2, 5});
    const auto parts = split(x, 2, 1);
    REQUIRE(parts.size() == 3);
    CHECK(parts[2].shape() == Shape{2, 1});
    CHECK(parts[1].shares_storage(x));
    CHECK(chunk(x, 4, 1).size() == 3);  // ⌈5/4⌉ = 2 per chunk: 2, 2, 1 (as torch.chunk)
    Generator gen(3);
    Tensor w = Tensor::randn({7, 16}, gen).set_requires_grad();
    const Tensor idx = Tensor::from_vector({3, 3, 0, 3, 6, 0}, {2, 3});
    const Tensor dout = Tensor::randn({2, 3, 16}, gen);
    F::embedding(idx, w).backward(dout);
    const std::vector<float> first = w.grad().to_vector();
    w.set_grad(Tensor{});
    F::embedding(idx, w).backward(dout);
    CHECK(w.grad().to_vector() == first);
    const std::vector<float> d = dout.to_vector();
    CHECK(first[3 * 16 + 5] == d[0 * 16 + 5] + d[1 * 16 + 5] + d[3 * 16 + 5]);
    CHECK(first[1 * 16] == 0.f);
  }

  TEST_CASE("the shared per-element math: Φ, GELU's derivative and the attention row against double") {
    for (int i = -900; i <= 900; ++i) {
      const float xf = static_cast<float>(i / 100.0);
      const double x = xf, phi = 0.5 * std::erfc(-x / std::sqrt(2.0));
      // Relative to Φ even in the far left tail (Φ(−9) ≈ 1e-19): the formula's own 1.2e-7, plus the
      // float32 rounding of the exponent −z² + P(t), which expf turns into a relative error: z = |x|/√2
      // (eps/2, so z² is off by z²·eps), z² itself and the sum (z²·eps/2 each), P(t) (≤ 2, a few eps),
      // and a few roundings of t, the polynomial and the final product.
      const double z2 = x * x / 2;
      CHECK(std::abs(kernels::math::normal_cdf(xf) - phi) / phi <= 1.2e-7 + (2 * z2 + 10) * kEps);
      // GELU' from its formula against a central difference of x·Φ(x) in double.
      const double h = 1e-5, cdf = [&](double z) { return z * 0.5 * std::erfc(-z / std::sqrt(2.0)); }(x + h);
      const double slope = (cdf - (x - h) * 0.5 * std::erfc(-(x - h) / std::sqrt(2.0))) / (2 * h);
      CHECK(kernels::math::GeluBackward{}(float(x), 1.f) == doctest::Approx(slope).epsilon(1e-5).scale(1.0));
    }
    // One query against three keys, by hand in double.
    const float q[2] = {0.5f, -1.f}, k[6] = {1, 0, 0, 1, 1, 1}, v[6] = {1, 2, 3, 4, 5, 6};
    float out[2], lse;
    kernels::math::attention_row(out, &lse, q, k, 2, v, 2, 3, 2, 0.5f);
    const double s[3] = {0.25, -0.5, -0.25}, z = std::exp(s[0]) + std::exp(s[1]) + std::exp(s[2]);
    CHECK(out[0] == doctest::Approx((std::exp(s[0]) * 1 + std::exp(s[1]) * 3 + std::exp(s[2]) * 5) / z).epsilon(1e-6));
    CHECK(out[1] == doctest::Approx((std::exp(s[0]) * 2 + std::exp(s[1]) * 4 + std::exp(s[2]) * 6) / z).epsilon(1e-6));
    CHECK(lse == doctest::Approx(std::log(z)).epsilon(1e-6));
  }

  // The CPU kernel vectorizes the formulas whose row functions the CUDA kernels run: the two agree,
  // over more rows than one chunk of the CPU's partial sums (32) and an odd row length.
  TEST_CASE("layer norm: the CPU kernel equals the shared row math of the CUDA kernels") {
    Generator gen(3);
    const int64_t rows = 75, cols = 45;
    const Tensor x = (Tensor::randn({rows, cols}, gen) * 3.f + 1.f).detach().set_requires_grad();
    const Tensor w = Tensor::randn({cols}, gen).set_requires_grad(), b = Tensor::randn({cols}, gen).set_requires_grad();
    const Tensor dy = Tensor::randn({rows, cols}, gen);
    const Tensor y = F::layer_norm(x, {cols}, w, b, 1e-5f);
    y.backward(dy);
    const std::vector<float> xv = x.to_vector(), wv = w.to_vector(), bv = b.to_vector(), gv = dy.to_vector();
    std::vector<float> ye(rows * cols), dxe(rows * cols), mean(rows), rstd(rows), dwe(cols), dbe(cols);
    for (int64_t r = 0; r < rows; ++r) {
      kernels::math::layer_norm_row(&ye[r * cols], &mean[r], &rstd[r], &xv[r * cols], wv.data(), bv.data(), cols,
                                    1e-5f);
      kernels::math::layer_norm_backward_row(&dxe[r * cols], &gv[r * cols], &xv[r * cols], wv.data(), mean[r], rstd[r],
                                             cols);
    }
    kernels::math::layer_norm_param_grads(dwe.data(), dbe.data(), gv.data(), xv.data(), mean.data(), rstd.data(), rows,
                                          cols, 0, cols);
    // Each value sums a row (cols terms, twice: μ, then σ² or the two means of dx); dw and db a column.
    expect_close(y.to_vector(), ye, 2 * cols, "y");
    expect_close(x.grad().to_vector(), dxe, 2 * cols, "dx");
    expect_close(w.grad().to_vector(), dwe, rows, "dweight");
    expect_close(b.grad().to_vector(), dbe, rows, "dbias");
  }

  TEST_CASE("errors name the op and the shapes") {
    const Tensor x = Tensor::zeros({2, 3});
    const Tensor idx = Tensor::from_vector({0, 3}, {2});
    CHECK(error_of([&] { index_select(x, 1, idx); }).find("index_select: index 3 at position 1 is out of range") !=
          std::string::npos);
    CHECK(error_of([&] { index_select(x, 1, Tensor::zeros({2})); }).find("index_select: index must be int32") !=
          std::string::npos);
    CHECK(error_of([&] {
            gather(x, 0, Tensor::from_vector({0, 1, 2}, {1, 3}));
          }).find("gather: index") != std::string::npos);
    CHECK(error_of([&] {
            cat({x, Tensor::zeros({3, 3})}, 1);
          }).find("cat: tensor 1 of shape [3, 3]") != std::string::npos);
    CHECK(error_of([&] { cat({}, 0); }).find("cat: expected at least one tensor") != std::string::npos);
    CHECK(error_of([&] { stack({x, Tensor::zeros({3, 2})}, 0); }).find("stack: tensor 1") != std::string::npos);
    CHECK(error_of([&] { split(x, 0, 1); }).find("split: size must be > 0") != std::string::npos);
    CHECK(error_of([&] { chunk(x, 0, 1); }).find("chunk: chunks must be > 0") != std::string::npos);
    CHECK(error_of([&] { tril(Tensor::zeros({3})); }).find("tril: expected a tensor of at least 2 dims") !=
          std::string::npos);
    CHECK(error_of([&] {
            matmul(Tensor::zeros({2, 2, 3}), Tensor::zeros({3, 3, 4}));
          }).find("matmul: batch dims") != std::string::npos);
    CHECK(error_of([&] {
            matmul(Tensor::zeros({2, 3}), Tensor::zeros({4, 2}));
          }).find("not aligned") != std::string::npos);
    CHECK(error_of([&] { clamp(x, 1.f, 0.f); }).find("clamp: lo 1 exceeds hi 0") != std::string::npos);
    CHECK(error_of([&] { masked_fill(x, Tensor::zeros({4}), 0.f); }).find("masked_fill:") != std::string::npos);
    CHECK(error_of([&] { where(Tensor::zeros({2}), x, x); }).find("where:") != std::string::npos);
    CHECK(error_of([&] { F::embedding(Tensor::from_vector({5}, {1}), Tensor::zeros({4, 2})); }) ==
          "embedding: index 5 at position 0 is out of range [0, 4)");
    CHECK(error_of([&] {
            F::embedding(Tensor::zeros({2}), Tensor::zeros({4, 2}));
          }).find("embedding: indices must be int32") != std::string::npos);
    CHECK(error_of([&] {
            F::layer_norm(x, {2}, Tensor{}, Tensor{});
          }).find("layer_norm: normalized_shape [2] is not the trailing shape of x [2, 3]") != std::string::npos);
    CHECK(error_of([&] {
            F::scaled_dot_product_attention(x, x, Tensor::zeros({2, 4}));
          }).find("scaled_dot_product_attention: shapes") != std::string::npos);
    CHECK(error_of([&] { F::self_attention(Tensor::zeros({2, 3, 12}), 3); }) ==
          "self_attention: expected qkv [B, T, 3·C] with C a multiple of heads, got [2, 3, 12] and 3 heads");
    CHECK(error_of([&] {
            F::cross_entropy(x, Tensor::from_vector({0, 7}, {2}), {.ignore_index = 1});
          }).find("cross_entropy: target 7 at position 1") != std::string::npos);
    CHECK(error_of([&] {
            F::cross_entropy(x, Tensor::from_vector({0, 1}, {2}), {.label_smoothing = 2.f});
          }).find("label_smoothing must be in [0, 1]") != std::string::npos);
    // The convolutions fuse ReLU only: a GELU epilogue is refused, not silently dropped.
    CHECK(error_of([&] {
            F::conv2d(Tensor::zeros({1, 1, 3, 3}), Tensor::zeros({1, 1, 2, 2}), Tensor{}, {}, F::Activation::gelu);
          }).find("conv2d: the fused activation must be none or relu, got gelu") != std::string::npos);
  }
}
