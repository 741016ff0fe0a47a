// cnn: the convolutional-network ops and layers. conv2d and pooling against direct loops written
// from their definitions over strides, paddings, dilations, groups, odd and non-square sizes, batch 1
// and non-contiguous inputs; gradcheck of every op over the same grid; values and gradients of
// conv2d, pooling and batch norm (training and evaluation, running statistics over several steps)
// against PyTorch's (tests/reference/cnn_reference.h); the errors; and the layers (initialization,
// state_dict names, train/eval, Sequential's fused Conv2d + ReLU).
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <functional>
#include <sstream>
#include <string>

#include <minidl/minidl.h>
#include "autograd/node.h"
#include "reference/cnn_reference.h"
#include "testing.h"

using namespace minidl;
namespace F = minidl::nn::functional;
using autograd::gradcheck;

namespace {

// Values in ±[0.2, 1.5], all distinct (so max pooling has no ties within gradcheck's steps).
Tensor random_tensor(const Shape& shape, uint64_t seed, bool requires_grad = false) {
  Generator gen(seed);
  std::vector<float> v(static_cast<size_t>(shape.numel()));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = (gen.uniform() < 0.5f ? -1.f : 1.f) * (0.2f + 1.3f * gen.uniform()) + 1e-4f * static_cast<float>(i % 97);
  return Tensor::from_vector(v, shape, requires_grad);
}

// Values k·0.05 − 1 for a random permutation of k: any two differ by ≥ 0.05, far more than
// gradcheck's steps, so a window's maximum stays where it is.
Tensor distinct_tensor(const Shape& shape, uint64_t seed, bool requires_grad = false) {
  Generator gen(seed);
  std::vector<float> v(static_cast<size_t>(shape.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) * 0.05f - 1.f;
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[gen.below(i)]);
  return Tensor::from_vector(v, shape, requires_grad);
}

// conv2d written from its definition: one multiply-add per (output, input channel of its group, tap).
std::vector<double> direct_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, F::Conv2dOptions o) {
  const auto xv = x.contiguous().to_vector(), wv = w.contiguous().to_vector();
  const auto bv = b.defined() ? b.to_vector() : std::vector<float>();
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
  const int64_t oc = w.size(0), cg = w.size(1), kh = w.size(2), kw = w.size(3), og = oc / o.groups;
  const int64_t oh = (h + 2 * o.padding - o.dilation * (kh - 1) - 1) / o.stride + 1;
  const int64_t ow = (wd + 2 * o.padding - o.dilation * (kw - 1) - 1) / o.stride + 1;
  std::vector<double> y(static_cast<size_t>(n * oc * oh * ow));
  for (int64_t bi = 0; bi < n; ++bi)
    for (int64_t o_ = 0; o_ < oc; ++o_)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double s = bv.empty() ? 0.0 : bv[o_];
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t p = 0; p < kh; ++p)
              for (int64_t q = 0; q < kw; ++q) {
                const int64_t ih = i * o.stride - o.padding + p * o.dilation,
                              iw = j * o.stride - o.padding + q * o.dilation;
                if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                const int64_t cin = (o_ / og) * cg + ci;
                s += static_cast<double>(xv[((bi * c + cin) * h + ih) * wd + iw]) *
                     wv[((o_ * cg + ci) * kh + p) * kw + q];
              }
          y[((bi * oc + o_) * oh + i) * ow + j] = s;
        }
  return y;
}

Tensor absolute(const Tensor& t) {
  std::vector<float> v = t.contiguous().to_vector();
  for (float& e : v) e = std::fabs(e);
  return Tensor::from_vector(v, t.shape());
}

// conv2d's output against its definition: each element is a sum of C/groups · kh · kw products (and
// the bias) that im2col + GEMM adds in its own order, so it is within testing::reorder_tolerance of
// the exact sum, with Σ|terms| the same definition evaluated on |x|, |w| and |b|.
void check_conv2d(const Tensor& got, const Tensor& x, const Tensor& w, const Tensor& b, F::Conv2dOptions o) {
  const int64_t terms = w.size(1) * w.size(2) * w.size(3) + (b.defined() ? 1 : 0);
  testing::check_reordered(got.to_vector(), direct_conv2d(x, w, b, o), terms,
                           direct_conv2d(absolute(x), absolute(w), b.defined() ? absolute(b) : Tensor(), o));
}

void check_close(const std::vector<float>& got, const std::vector<double>& want, double rtol, double atol = 1e-6) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i << ": " << got[i] << " vs " << want[i]);
    CHECK(std::fabs(got[i] - want[i]) <= atol + rtol * std::fabs(want[i]));
  }
}

void check_close(const std::vector<float>& got, const std::vector<float>& want, double rtol, double atol = 1e-6) {
  check_close(got, std::vector<double>(want.begin(), want.end()), rtol, atol);
}

// Against PyTorch, for an op whose every output element is one sum of at most n terms: both sides add
// them in float32 in their own orders, so they agree within testing::reorder_tolerance of each
// element's Σ|terms|, which `abs_sums` gives (the same op run on absolute values).
void check_matches_torch(const std::vector<float>& got, const std::vector<float>& want, int64_t n,
                         const std::vector<float>& abs_sums) {
  std::vector<double> sums(abs_sums.size());  // |·|: a max pool's forward on x itself gives its maxima
  for (size_t i = 0; i < sums.size(); ++i) sums[i] = std::fabs(static_cast<double>(abs_sums[i]));
  testing::check_reordered(got, want, n, sums);
}

// Against PyTorch, for batch norm: an element passes through up to four sums over the M = N·H·W
// values of its channel (mean and variance forward; Σdy and Σdy·x̂ backward), each within e(M) of
// its terms' size; normalized by M they enter the element at most at the array's largest magnitude
// (`scale`), so two orders differ by at most 4 · 2·e(M) · scale, plus each side's final rounding.
void check_batch_norm_matches_torch(const std::vector<float>& got, const std::vector<float>& want, int64_t m) {
  double scale = 0;
  for (float v : want) scale = std::max(scale, std::fabs(static_cast<double>(v)));
  std::vector<double> abs_sums(want.size(), 2 * static_cast<double>(m) * scale);  // 4 sums: 2 × reorder's 2
  testing::check_reordered(got, want, m, abs_sums);
}

void expect_gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn, const std::vector<Tensor>& inputs) {
  const auto r = gradcheck(fn, inputs);
  INFO(r.report);
  CHECK(r.ok);
}

struct ConvCase {
  Shape x, w;
  F::Conv2dOptions o;
  bool bias = true;
};

// The grid the acceptance asks for: strides 1–2, paddings 0–2, dilation 1–2, groups 1/2/C, odd and
// non-square sizes and kernels, batch 1.
std::vector<ConvCase> conv_cases() {
  return {
      {{2, 3, 7, 6}, {4, 3, 3, 3}, {}},
      {{1, 3, 7, 6}, {4, 3, 3, 3}, {.stride = 2}},
      {{2, 2, 5, 7}, {3, 2, 3, 2}, {.padding = 1}},
      {{1, 2, 6, 5}, {2, 2, 3, 3}, {.stride = 2, .padding = 2}},
      {{2, 3, 9, 8}, {2, 3, 3, 3}, {.padding = 1, .dilation = 2}},
      {{1, 4, 6, 7}, {6, 2, 3, 3}, {.padding = 1, .groups = 2}},
      {{2, 4, 5, 5}, {4, 1, 3, 3}, {.stride = 2, .padding = 1, .groups = 4}},
      {{1, 1, 5, 9}, {3, 1, 1, 4}, {.stride = 1, .padding = 0}, false},
      {{3, 2, 4, 4}, {2, 2, 4, 4}, {.padding = 2, .dilation = 1}},
  };
}

}  // namespace

TEST_SUITE("cnn") {
  TEST_CASE("conv2d equals the direct sum of its definition over strides, paddings, dilations and groups") {
    uint64_t seed = 1;
    for (const ConvCase& k : conv_cases()) {
      CAPTURE(k.x);
      CAPTURE(k.w);
      const Tensor x = random_tensor(k.x, seed++), w = random_tensor(k.w, seed++);
      const Tensor b = k.bias ? random_tensor({k.w[0]}, seed++) : Tensor();
      check_conv2d(F::conv2d(x, w, b, k.o), x, w, b, k.o);
    }
  }

  TEST_CASE("conv2d reads non-contiguous inputs and walks large batches in chunks") {
    // A permuted (NHWC-stored) input and a transposed weight: the op copies what it must.
    const Tensor x_nhwc = random_tensor({2, 6, 5, 3}, 40), w_t = random_tensor({3, 4, 3, 3}, 41);
    const Tensor x = x_nhwc.permute({0, 3, 1, 2}), w = w_t.transpose(0, 1);
    CHECK_FALSE(x.is_contiguous());
    check_conv2d(F::conv2d(x, w, Tensor(), {.padding = 1}), x, w, Tensor(), {.padding = 1});
    // 16 channels × 9 taps × 30·30 positions ≈ 130k column entries per image: several chunks.
    const Tensor big = random_tensor({5, 16, 30, 30}, 42), wb = random_tensor({8, 16, 3, 3}, 43);
    const Tensor bias = random_tensor({8}, 44);
    check_conv2d(F::conv2d(big, wb, bias, {.padding = 1}), big, wb, bias, {.padding = 1});
  }

  TEST_CASE("one large image on 2 threads: a single chunk whose loops split across threads, as on 1 thread") {
    // One image is one chunk, so its im2col and col2im loops take both threads themselves. Their
    // per-thread scratch buffers belong to the calling thread (the other thread once read its own,
    // empty one, and crashed). Same results as on 1 thread, up to the rounding of OpenBLAS's GEMMs,
    // which split their work by the thread count: each element is a sum whose length and Σ|terms|
    // set its tolerance (testing::reorder_tolerance). With dy = 1 (the gradient of sum) every sum is
    // linear in |x| and |w| termwise, so the same op run on |x| and |w| gives each element's Σ|terms|:
    //   y  = Σ over 3 channels × 9 taps of w·x           (27 terms, Σ|w||x|)
    //   dx = Σ over 4 outputs × 9 taps of w              (36 terms, Σ|w|)
    //   dw = Σ over the 160 × 160 positions of x         (25,600 terms, Σ|x| ≈ 2·10⁴ against a sum ≈ 1)
    const Tensor x = random_tensor({1, 3, 160, 160}, 45, true), w = random_tensor({4, 3, 3, 3}, 46, true);
    const auto absolute = [](const Tensor& t) {
      std::vector<float> v = t.to_vector();
      for (float& e : v) e = std::fabs(e);
      return Tensor::from_vector(v, t.shape(), true);
    };
    const auto run = [](Tensor x, Tensor w) {
      x.set_grad(Tensor()), w.set_grad(Tensor());
      const Tensor y = F::conv2d(x, w, Tensor(), {.padding = 1});
      sum(y).backward();
      return std::array<std::vector<float>, 3>{y.to_vector(), x.grad().to_vector(), w.grad().to_vector()};
    };
    const auto widen = [](const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); };
    const int before = num_threads();
    set_num_threads(1);
    const auto one = run(x, w), abs_sums = run(absolute(x), absolute(w));
    set_num_threads(2);
    const auto two = run(x, w);
    set_num_threads(before);
    testing::check_reordered(two[0], one[0], 27, widen(abs_sums[0]));
    testing::check_reordered(two[1], one[1], 36, widen(abs_sums[1]));
    testing::check_reordered(two[2], one[2], 160 * 160, widen(abs_sums[2]));
  }

  TEST_CASE("gradcheck: conv2d over the grid, with and without bias, fused ReLU included") {
    uint64_t seed = 100;
    for (const ConvCase& k : conv_cases()) {
      CAPTURE(k.x);
      CAPTURE(k.w);
      std::vector<Tensor> in = {random_tensor(k.x, seed++, true), random_tensor(k.w, seed++, true)};
      if (k.bias) in.push_back(random_tensor({k.w[0]}, seed++, true));
      expect_gradcheck([&](const auto& t) { return F::conv2d(t[0], t[1], k.bias ? t[2] : Tensor(), k.o); }, in);
    }
    // The fused ReLU's gradient, away from its kink: a large positive bias on half the channels.
    const Tensor x = random_tensor({2, 2, 5, 5}, 200, true), w = random_tensor({4, 2, 3, 3}, 201, true);
    const Tensor b = Tensor::from_vector({20.f, -20.f, 20.f, -20.f}, {4}, true);
    expect_gradcheck([](const auto& t) { return F::conv2d(t[0], t[1], t[2], {.padding = 1}, F::Activation::relu); },
                     {x, w, b});
    // Non-contiguous input.
    const Tensor xt = random_tensor({2, 5, 6, 3}, 202).permute({0, 3, 1, 2}).set_requires_grad();
    expect_gradcheck([](const auto& t) { return F::conv2d(t[0], t[1], Tensor(), {.stride = 2}); },
                     {xt, random_tensor({2, 3, 2, 2}, 203, true)});
  }

  TEST_CASE("max_pool2d and avg_pool2d equal their definitions") {
    const Tensor x = random_tensor({2, 3, 7, 6}, 300);
    const auto xv = x.to_vector();
    for (const F::Pool2dOptions o :
         {F::Pool2dOptions{2}, F::Pool2dOptions{3, 2, 1}, F::Pool2dOptions{3, 1, 0}, F::Pool2dOptions{2, 1, 1}}) {
      CAPTURE(o.kernel_size);
      CAPTURE(o.stride);
      CAPTURE(o.padding);
      const int64_t s = o.stride ? o.stride : o.kernel_size, k = o.kernel_size, p = o.padding;
      const int64_t oh = (7 + 2 * p - k) / s + 1, ow = (6 + 2 * p - k) / s + 1;
      std::vector<double> want_max, want_avg, abs_avg;
      for (int64_t plane = 0; plane < 6; ++plane)
        for (int64_t i = 0; i < oh; ++i)
          for (int64_t j = 0; j < ow; ++j) {
            double best = -INFINITY, sum = 0, abs_sum = 0;
            for (int64_t a = 0; a < k; ++a)
              for (int64_t b = 0; b < k; ++b) {
                const int64_t h = i * s - p + a, w = j * s - p + b;
                if (h < 0 || h >= 7 || w < 0 || w >= 6) continue;
                best = std::max<double>(best, xv[(plane * 7 + h) * 6 + w]);
                sum += xv[(plane * 7 + h) * 6 + w];
                abs_sum += std::fabs(xv[(plane * 7 + h) * 6 + w]);
              }
            want_max.push_back(best);
            want_avg.push_back(sum / (k * k));
            abs_avg.push_back(abs_sum / (k * k));
          }
      const Tensor y = F::max_pool2d(x, o);
      CHECK(y.shape() == Shape{2, 3, oh, ow});
      check_close(y.to_vector(), want_max, 0, 0);
      // An average is a sum of k² terms (and a division, one more rounding) in the kernel's order.
      testing::check_reordered(F::avg_pool2d(x, o).to_vector(), want_avg, k * k + 1, abs_avg);
    }
    CHECK(F::max_pool2d(random_tensor({3, 4, 4}, 301), {2}).shape() == Shape{3, 2, 2});  // [C, H, W] works too
  }

  TEST_CASE("max_pool2d routes each gradient to the first maximum of its window, as PyTorch") {
    // Two windows of a [1, 1, 2, 4] input, each with a tie: 5 at (0, 0) and (1, 1); 7 at (0, 3) and (1, 2).
    const Tensor x = Tensor::from_vector({5.f, 1.f, 2.f, 7.f, 0.f, 5.f, 7.f, 3.f}, {1, 1, 2, 4}, true);
    const Tensor y = F::max_pool2d(x, {2});
    CHECK(y.to_vector() == std::vector<float>{5.f, 7.f});
    y.backward(Tensor::from_vector({10.f, 20.f}, {1, 1, 1, 2}));
    CHECK(x.grad().to_vector() == std::vector<float>{10.f, 0.f, 0.f, 20.f, 0.f, 0.f, 0.f, 0.f});
    // Overlapping windows (stride 1) add up at a shared maximum.
    const Tensor z = Tensor::from_vector({1.f, 9.f, 2.f, 3.f, 4.f, 5.f}, {1, 1, 2, 3}, true);
    sum(F::max_pool2d(z, {.kernel_size = 2, .stride = 1})).backward();
    CHECK(z.grad().to_vector() == std::vector<float>{0.f, 2.f, 0.f, 0.f, 0.f, 0.f});
  }

  TEST_CASE("2x2 max pooling's fast path equals the general one: ties, NaN, signed zeros, wide rows") {
    // 2×2 windows at stride 2 over even sizes take a kernel of their own (kernels/cpu/pool.cpp);
    // over odd sizes the general one, which computes the same windows and ignores the last row and
    // column. Values drawn from a handful, so windows tie and hold NaNs: the winner must be the last
    // NaN, else the first maximum, in both, plain and fused with the convolution before it.
    for (const std::pair<int64_t, int64_t> size : {std::pair<int64_t, int64_t>{5, 7}, {11, 35}, {29, 29}, {3, 67}}) {
      const int64_t h = size.first, w = size.second;  // not a structured binding: clang 14 cannot capture one
      CAPTURE(h);
      CAPTURE(w);
      const int64_t n = 2, c = 3, eh = h - 1, ew = w - 1;
      Generator gen(static_cast<uint64_t>(h * 100 + w));
      const float pool_of[] = {-1.f, -0.f, 0.f, 1.f, 2.f, std::nanf("")};
      std::vector<float> odd(static_cast<size_t>(n * c * h * w)), even;
      for (float& v : odd) v = pool_of[gen.below(6)];
      for (int64_t p = 0; p < n * c; ++p)
        for (int64_t i = 0; i < eh; ++i)
          for (int64_t j = 0; j < ew; ++j) even.push_back(odd[static_cast<size_t>((p * h + i) * w + j)]);
      const Tensor xo = Tensor::from_vector(odd, {n, c, h, w}, true),
                   xe = Tensor::from_vector(even, {n, c, eh, ew}, true);
      const Tensor yo = F::max_pool2d(xo, {2}), ye = F::max_pool2d(xe, {2});
      const auto same = [](const std::vector<float>& a, const std::vector<float>& b) {
        if (a.size() != b.size()) return false;
        for (size_t i = 0; i < a.size(); ++i)
          if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
        return true;
      };
      CHECK(same(yo.to_vector(), ye.to_vector()));
      const Tensor dy = random_tensor(ye.shape(), 390);
      yo.backward(dy);
      ye.backward(dy);
      std::vector<float> cropped;
      const std::vector<float> go = xo.grad().to_vector();
      for (int64_t p = 0; p < n * c; ++p)
        for (int64_t i = 0; i < eh; ++i)
          for (int64_t j = 0; j < ew; ++j) cropped.push_back(go[static_cast<size_t>((p * h + i) * w + j)]);
      CHECK(cropped == xe.grad().to_vector());
      // Fused after a 1×1 depthwise convolution of weight 1: the same windows, the same winners.
      for (const F::Activation act : {F::Activation::none, F::Activation::relu}) {
        const Tensor x = xe.detach().set_requires_grad(), wt = Tensor::full({c, 1, 1, 1}, 1.f).set_requires_grad();
        const Tensor fused = F::conv2d_max_pool2d(x, wt, Tensor(), {.groups = c}, act, {2});
        fused.backward(dy);
        const Tensor x2 = xe.detach().set_requires_grad(), w2 = Tensor::full({c, 1, 1, 1}, 1.f).set_requires_grad();
        const Tensor separate = F::max_pool2d(F::conv2d(x2, w2, Tensor(), {.groups = c}, act), {2});
        separate.backward(dy);
        CHECK(same(fused.to_vector(), separate.to_vector()));
        CHECK(x.grad().to_vector() == x2.grad().to_vector());
        CHECK(same(wt.grad().to_vector(), w2.grad().to_vector()));  // NaN where x holds one
      }
    }
  }

  TEST_CASE("gradcheck: max_pool2d and avg_pool2d, strided, padded, overlapping, non-contiguous") {
    for (const F::Pool2dOptions o :
         {F::Pool2dOptions{2}, F::Pool2dOptions{3, 2, 1}, F::Pool2dOptions{2, 1, 1}, F::Pool2dOptions{3, 3, 0}}) {
      CAPTURE(o.kernel_size);
      expect_gradcheck([o](const auto& t) { return F::max_pool2d(t[0], o); },
                       {distinct_tensor({2, 2, 7, 6}, 400, true)});
      expect_gradcheck([o](const auto& t) { return F::avg_pool2d(t[0], o); }, {random_tensor({2, 2, 7, 6}, 401, true)});
    }
    const Tensor xt = distinct_tensor({1, 6, 5, 2}, 402).permute({0, 3, 2, 1}).set_requires_grad();
    expect_gradcheck([](const auto& t) { return F::max_pool2d(t[0], {2}); }, {xt});
    expect_gradcheck([](const auto& t) { return F::avg_pool2d(t[0], {2, 1}); }, {xt});
  }

  TEST_CASE("gradcheck: batch_norm in training and evaluation, 2-D and 4-D, with and without affine") {
    for (const Shape& shape : {Shape{6, 3}, Shape{3, 2, 4, 3}, Shape{1, 2, 3, 3}, Shape{4, 3, 5}}) {
      CAPTURE(shape);
      const int64_t c = shape[1];
      const Tensor x = random_tensor(shape, 500, true), w = random_tensor({c}, 501, true),
                   b = random_tensor({c}, 502, true);
      for (const bool training : {true, false}) {
        CAPTURE(training);
        const auto fn = [&](const std::vector<Tensor>& t) {
          Tensor mean = Tensor::full({c}, 0.1f), var = Tensor::full({c}, 1.5f);  // fresh each call
          return F::batch_norm(t[0], mean, var, t[1], t[2], training);
        };
        expect_gradcheck(fn, {x, w, b});
        expect_gradcheck(
            [&](const std::vector<Tensor>& t) {
              Tensor mean = Tensor::full({c}, 0.1f), var = Tensor::full({c}, 1.5f);
              return F::batch_norm(t[0], mean, var, Tensor(), Tensor(), training);
            },
            {x});
      }
    }
  }

  TEST_CASE("gradcheck: dropout with a fixed mask") {
    const Tensor x = random_tensor({4, 5}, 600, true);
    expect_gradcheck(
        [](const auto& t) {
          Generator gen(7);  // the same mask in every evaluation
          return F::dropout(t[0], 0.4f, true, gen);
        },
        {x});
  }

  TEST_CASE("dropout zeroes a fraction p, scales the rest by 1/(1-p), and is the identity in evaluation") {
    Generator gen(3);
    const Tensor x = Tensor::ones({200, 500});
    const auto y = F::dropout(x, 0.25f, true, gen).to_vector();
    int64_t zeros = 0;
    for (float v : y) {
      CHECK((v == 0.f || v == doctest::Approx(1.f / 0.75f)));
      zeros += v == 0.f;
    }
    CHECK(std::fabs(zeros / 100000.0 - 0.25) < 0.005);  // binomial sd ≈ 0.0014
    Generator again(3);
    CHECK(F::dropout(x, 0.25f, true, again).to_vector() == y);  // seeded: the same mask
    CHECK(F::dropout(x, 0.25f, true, gen).to_vector() != y);    // the next call draws another
    CHECK(F::dropout(x, 0.25f, false, gen).shares_storage(x));
    CHECK(F::dropout(x, 0.f, true, gen).shares_storage(x));
  }

  TEST_CASE("batch_norm updates the running statistics as PyTorch (unbiased variance, momentum 0.1)") {
    const Tensor x = Tensor::from_vector({1.f, 2.f, 3.f, 4.f, 10.f, 20.f, 30.f, 40.f}, {4, 2});
    Tensor mean = Tensor::zeros({2}), var = Tensor::ones({2});
    const Tensor y = F::batch_norm(x, mean, var, Tensor(), Tensor(), true);
    // Channel 0: 1, 3, 10, 30: mean 11, squared deviations 100 + 64 + 1 + 361 = 526, so the biased
    // variance is 131.5 and the unbiased one 175.33.
    const auto m = mean.to_vector(), v = var.to_vector();
    CHECK(m[0] == doctest::Approx(1.1));
    CHECK(v[0] == doctest::Approx(0.9 + 0.1 * 526.0 / 3));
    CHECK(y.to_vector()[0] == doctest::Approx((1 - 11) / std::sqrt(131.5 + 1e-5)));
    const Tensor e = F::batch_norm(x, mean, var, Tensor(), Tensor(), false);  // evaluation: the running ones
    CHECK(e.to_vector()[0] == doctest::Approx((1 - m[0]) / std::sqrt(v[0] + 1e-5)));
    CHECK(mean.to_vector() == m);  // unchanged in evaluation
  }

  TEST_CASE("conv2d, pooling and batch_norm match PyTorch's values and gradients, within each sum's rounding") {
    using namespace reference::cnn;
    // Each element's Σ|terms|: the same op on |x|, |w|, |b| and |dy|, whose terms are all ≥ 0.
    const auto abs_tensor = [](const Floats& v, const Shape& shape) {
      Floats a(v);
      for (float& e : a) e = std::fabs(e);
      return Tensor::from_vector(a, shape, true);
    };
    for (const ConvReference& r : conv_references()) {
      CAPTURE(std::string(r.name));
      const Shape ws(r.w_shape);
      const F::Conv2dOptions o{r.stride, r.padding, r.dilation, r.groups};
      const auto run = [&](const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& dy) {
        const Tensor y = F::conv2d(x, w, b, o);
        y.backward(dy.view(y.shape()));
        return y;
      };
      const Tensor x = Tensor::from_vector(r.x, Shape(r.x_shape), true), w = Tensor::from_vector(r.w, ws, true);
      const Tensor b = r.b.empty() ? Tensor() : Tensor::from_vector(r.b, {ws[0]}, true);
      const Tensor y = run(x, w, b, Tensor::from_vector(r.dy, {static_cast<int64_t>(r.dy.size())}));
      const Tensor ax = abs_tensor(r.x, Shape(r.x_shape)), aw = abs_tensor(r.w, ws);
      const Tensor ab = r.b.empty() ? Tensor() : abs_tensor(r.b, {ws[0]});
      const Tensor ay = run(ax, aw, ab, abs_tensor(r.dy, {static_cast<int64_t>(r.dy.size())}));
      // y: C/groups·kh·kw products and the bias; dx: (out channels/groups)·kh·kw; dw, db: N·OH·OW.
      const int64_t positions = y.size(0) * y.size(2) * y.size(3);
      check_matches_torch(y.to_vector(), r.y, ws[1] * ws[2] * ws[3] + 1, ay.to_vector());
      check_matches_torch(x.grad().to_vector(), r.dx, ws[0] / r.groups * ws[2] * ws[3], ax.grad().to_vector());
      check_matches_torch(w.grad().to_vector(), r.dw, positions, aw.grad().to_vector());
      if (b.defined()) check_matches_torch(b.grad().to_vector(), r.db, positions, ab.grad().to_vector());
    }
    for (const PoolReference& r : pool_references()) {
      CAPTURE(std::string(r.name));
      const F::Pool2dOptions o{r.kernel, r.stride, r.padding};
      const auto run = [&](const Tensor& x, const Tensor& dy) {
        const Tensor y = r.max ? F::max_pool2d(x, o) : F::avg_pool2d(x, o);
        y.backward(dy.view(y.shape()));
        return y;
      };
      const Tensor x = Tensor::from_vector(r.x, Shape(r.x_shape), true);
      const Tensor y = run(x, Tensor::from_vector(r.dy, {static_cast<int64_t>(r.dy.size())}));
      // Max pooling routes |dy| through the same maxima as dy (on |x| they would move).
      const Tensor ax = r.max ? Tensor::from_vector(r.x, Shape(r.x_shape), true) : abs_tensor(r.x, Shape(r.x_shape));
      const Tensor ay = run(ax, abs_tensor(r.dy, {static_cast<int64_t>(r.dy.size())}));
      // A window's k² values (a maximum is exact); an input's gradient gathers from ⌈k/stride⌉² windows.
      const int64_t per_side = (r.kernel + r.stride - 1) / r.stride;
      check_matches_torch(y.to_vector(), r.y, r.kernel * r.kernel, ay.to_vector());
      check_matches_torch(x.grad().to_vector(), r.dx, per_side * per_side, ax.grad().to_vector());
    }
    for (const BatchNormReference& r : batch_norm_references()) {
      CAPTURE(std::string(r.name));
      const int64_t c = Shape(r.x_shape)[1], per_channel = Shape(r.x_shape).numel() / c;
      Tensor w = Tensor::from_vector(r.w, {c}, true), b = Tensor::from_vector(r.b, {c}, true);
      Tensor mean = Tensor::zeros({c}), var = Tensor::ones({c});
      // Training steps on inputs x_k = x·(k + 1) + k; running statistics compared after each.
      for (size_t k = 0; k < r.running_mean.size(); ++k) {
        NoGradGuard no_grad;
        const Tensor xk =
            Tensor::from_vector(r.x, Shape(r.x_shape)) * static_cast<float>(k + 1) + static_cast<float>(k);
        F::batch_norm(xk, mean, var, w, b, true);
        check_batch_norm_matches_torch(mean.to_vector(), r.running_mean[k], per_channel);
        check_batch_norm_matches_torch(var.to_vector(), r.running_var[k], per_channel);
      }
      for (const bool training : {true, false}) {
        CAPTURE(training);
        const Tensor x = Tensor::from_vector(r.x, Shape(r.x_shape), true);
        w.set_grad(Tensor()), b.set_grad(Tensor());
        Tensor m = mean.clone(), v = var.clone();
        const Tensor y = F::batch_norm(x, m, v, w, b, training);
        const auto& want = training ? r.train : r.eval;
        check_batch_norm_matches_torch(y.to_vector(), want.y, per_channel);
        y.backward(Tensor::from_vector(r.dy, y.shape()));
        check_batch_norm_matches_torch(x.grad().to_vector(), want.dx, per_channel);
        check_batch_norm_matches_torch(w.grad().to_vector(), want.dw, per_channel);
        check_batch_norm_matches_torch(b.grad().to_vector(), want.db, per_channel);
      }
    }
  }

  TEST_CASE("errors name the op and the shapes") {
    const Tensor x = Tensor::ones({2, 3, 8, 8}), w = Tensor::ones({4, 3, 3, 3});
    CHECK(error_of([&] {
            F::conv2d(x, Tensor::ones({4, 1, 3, 3}), Tensor(), {.groups = 2});
          }) == "conv2d: 3 input channels are not divisible by groups=2 (input [2, 3, 8, 8])");
    CHECK(error_of([&] {
            F::conv2d(Tensor::ones({2, 3, 2, 2}), w, Tensor());
          }) ==
          "conv2d: kernel 3x3 (dilation 1, reach 3x3) is larger than the padded input 2x2 (input [2, 3, 2, 2], "
          "padding 0)");
    CHECK(error_of([&] {
            F::conv2d(Tensor::ones({3, 8, 8}), w, Tensor());
          }) == "conv2d: expected a 4-D input [N, C, H, W], got [3, 8, 8]");
    CHECK(error_of([&] {
            F::conv2d(x, Tensor::ones({4, 3, 3}), Tensor());
          }) == "conv2d: weight must be 4-D [out_channels, in_channels/groups, kH, kW], got [4, 3, 3]");
    CHECK(error_of([&] {
            F::conv2d(x, Tensor::ones({4, 2, 3, 3}), Tensor());
          }) ==
          "conv2d: weight [4, 2, 3, 3] expects 2 input channels (2 per group × groups=1), input [2, 3, 8, 8] has 3");
    CHECK(error_of([&] { F::conv2d(x, w, Tensor::ones({3})); }) ==
          "conv2d: bias of shape [3] does not match 4 output channels");
    CHECK(error_of([&] { F::conv2d(x, w, Tensor(), {.stride = 0}); }) ==
          "conv2d: stride and dilation must be >= 1, padding >= 0 and groups >= 1, got stride 0, padding 0, "
          "dilation 1, groups 1");
    Generator gen(0);
    CHECK(error_of([&] { F::dropout(x, 1.f, true, gen); }) ==
          "dropout: p must be in [0, 1), got 1 (input [2, 3, 8, 8])");
    CHECK(error_of([&] { F::dropout(x, -0.1f, true, gen); }) ==
          "dropout: p must be in [0, 1), got -0.1 (input [2, 3, 8, 8])");
    CHECK(error_of([&] { nn::Dropout(1.5f); }) == "Dropout: p must be in [0, 1), got 1.5");
    CHECK(error_of([&] {
            F::max_pool2d(Tensor::ones({8, 8}), {2});
          }) == "max_pool2d: expected a 3-D [C, H, W] or 4-D [N, C, H, W] input, got [8, 8]");
    CHECK(error_of([&] {
            F::max_pool2d(x, {3, 1, 2});
          }) == "max_pool2d: padding 2 must be at most half the kernel size 3");
    CHECK(error_of([&] {
            F::avg_pool2d(Tensor::ones({1, 1, 2, 2}), {3});
          }) == "avg_pool2d: kernel 3x3 is larger than the padded input 2x2 (input [1, 1, 2, 2], padding 0)");
    Tensor mean = Tensor::zeros({3}), var = Tensor::ones({3});
    CHECK(error_of([&] {
            F::batch_norm(Tensor::ones({1, 3}), mean, var, Tensor(), Tensor(), true);
          }) == "batch_norm: expected more than 1 value per channel when training, got input [1, 3]");
    CHECK(error_of([&] { F::batch_norm(x, mean, var, Tensor::ones({4}), Tensor(), true); }) ==
          "batch_norm: weight of shape [4] does not match 3 channels of input [2, 3, 8, 8]");
    Tensor none;
    CHECK(error_of([&] { F::batch_norm(x, none, none, Tensor(), Tensor(), false); }) ==
          "batch_norm: evaluation mode needs running_mean and running_var");
    nn::BatchNorm2d bn(3);
    CHECK(error_of([&] {
            bn(Tensor::ones({2, 3}));
          }) == "BatchNorm2d: input of shape [2, 3] does not match num_features=3 (expected [N, 3, H, W])");
    nn::Conv2d conv(3, 4, 3);
    CHECK(error_of([&] {
            conv(Tensor::ones({2, 1, 8, 8}));
          }) == "Conv2d: input of shape [2, 1, 8, 8] does not match in_channels=3 (expected [N, 3, H, W])");
  }

  TEST_CASE("Conv2d has PyTorch's layout and draws U(-1/sqrt(fan_in), 1/sqrt(fan_in)), weight then bias") {
    Generator gen(0);
    nn::Conv2d conv(8, 16, 3, {.padding = 1, .groups = 2}, gen);
    CHECK(conv.weight.shape() == Shape{16, 4, 3, 3});
    CHECK(conv.bias.shape() == Shape{16});
    const float bound = 1.f / 6.f;  // fan_in = 8/2 · 3 · 3 = 36
    float lo = 1, hi = -1;
    for (float v : conv.weight.to_vector()) lo = std::min(lo, v), hi = std::max(hi, v);
    CHECK(lo >= -bound);
    CHECK(hi < bound);
    CHECK(hi - lo > 1.8f * bound);
    Generator same(0);
    const Tensor w = Tensor::uniform({16, 4, 3, 3}, -bound, bound, same);
    CHECK(conv.weight.to_vector() == w.to_vector());
    CHECK(conv.bias.to_vector() == Tensor::uniform({16}, -bound, bound, same).to_vector());
    std::ostringstream repr;
    repr << conv;
    CHECK(repr.str() == "Conv2d(8, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), groups=2)");
    CHECK(conv(Tensor::ones({2, 8, 5, 5})).shape() == Shape{2, 16, 5, 5});
  }

  TEST_CASE("state_dict has PyTorch's names and order, buffers included, and load_state_dict checks them") {
    Generator gen(1);
    nn::Sequential model;
    model.emplace<nn::Conv2d>(1, 4, 3, nn::Conv2dOptions{.padding = 1}, gen);
    model.emplace<nn::BatchNorm2d>(4);
    model.emplace<nn::ReLU>();
    model.emplace<nn::Flatten>();
    model.emplace<nn::Linear>(4 * 6 * 6, 10, true, gen);
    std::vector<std::string> names;
    for (const auto& [name, t] : model.state_dict()) names.push_back(name);
    CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                                            "1.running_var", "1.num_batches_tracked", "4.weight", "4.bias"});
    CHECK(model.parameters().size() == 6);  // buffers are not parameters
    CHECK(model.buffers().size() == 3);

    model(random_tensor({3, 1, 6, 6}, 700));  // training mode: the running statistics move
    CHECK(model.state_dict()[6].second.to_int_vector() == std::vector<int32_t>{1});
    Generator other(2);
    nn::Sequential twin;
    twin.emplace<nn::Conv2d>(1, 4, 3, nn::Conv2dOptions{.padding = 1}, other);
    twin.emplace<nn::BatchNorm2d>(4);
    twin.emplace<nn::ReLU>();
    twin.emplace<nn::Flatten>();
    twin.emplace<nn::Linear>(4 * 6 * 6, 10, true, other);
    twin.load_state_dict(model.state_dict());
    const auto a = model.state_dict(), b = twin.state_dict();
    for (size_t i = 0; i < a.size(); ++i) CHECK(a[i].second.to_vector() == b[i].second.to_vector());
    model.eval(), twin.eval();
    const Tensor x = random_tensor({2, 1, 6, 6}, 701);
    CHECK(model(x).to_vector() == twin(x).to_vector());

    NamedTensors bad = model.state_dict();
    bad.erase(bad.begin() + 4);
    bad.emplace_back("9.weight", Tensor::zeros({1}));
    bad[0].second = Tensor::zeros({4, 1, 5, 5});
    const std::string e = error_of([&] { twin.load_state_dict(bad); });
    CHECK(e ==
          "load_state_dict: Sequential: '0.weight' is float32 [4, 1, 5, 5], the model's is float32 [4, 1, 3, 3]; "
          "unexpected '9.weight'; missing '1.running_mean'");
    CHECK(twin(x).to_vector() == model(x).to_vector());  // nothing changed
  }

  TEST_CASE("train() and eval() switch dropout and batch norm") {
    Generator gen(5), noise(6);
    nn::Sequential model;
    model.emplace<nn::Linear>(6, 8, true, gen);
    model.emplace<nn::BatchNorm1d>(8);
    model.emplace<nn::Dropout>(0.5f, noise);
    const Tensor x = random_tensor({4, 6}, 800);
    NoGradGuard no_grad;
    const auto train_a = model(x).to_vector(), train_b = model(x).to_vector();
    CHECK(train_a != train_b);  // a new mask each call
    model.eval();
    CHECK_FALSE(model[1].is_training());
    const auto eval_a = model(x).to_vector(), eval_b = model(x).to_vector();
    CHECK(eval_a == eval_b);
    const auto& bn = static_cast<const nn::BatchNorm1d&>(model[1]);
    CHECK(bn.num_batches_tracked.to_int_vector() == std::vector<int32_t>{2});  // only training steps count
  }

  TEST_CASE("Sequential fuses Conv2d + ReLU into one op with the same values and gradients") {
    Generator gen(9);
    auto conv = std::make_shared<nn::Conv2d>(2, 3, 3, nn::Conv2dOptions{.padding = 1}, gen);
    nn::Sequential fused{conv, std::make_shared<nn::ReLU>()};
    Tensor x = random_tensor({2, 2, 5, 5}, 900, true);
    const Tensor y = fused(x);
    CHECK(std::string(y.grad_fn()->name()) == "conv2d");
    const Tensor separate = relu((*conv)(x));
    CHECK(y.to_vector() == separate.to_vector());
    sum(y * y).backward();
    const Tensor gx = x.grad(), gw = conv->weight.grad();
    x.set_grad(Tensor()), conv->weight.set_grad(Tensor());
    sum(separate * separate).backward();
    check_close(gx.to_vector(), x.grad().to_vector(), 1e-6);
    check_close(gw.to_vector(), conv->weight.grad().to_vector(), 1e-6);
  }

  TEST_CASE("conv2d_max_pool2d equals conv2d, ReLU and max_pool2d bit for bit, values and gradients") {
    struct Case {
      Shape x, w;
      F::Conv2dOptions conv;
      F::Pool2dOptions pool;
    };
    const Case cases[] = {
        {{3, 2, 10, 9}, {4, 2, 3, 3}, {.padding = 1}, {2}},
        {{2, 3, 11, 11}, {6, 1, 3, 3}, {.stride = 2, .padding = 1, .groups = 3}, {3, 2, 1}},
        {{2, 2, 9, 8}, {3, 2, 2, 3}, {}, {2, 1, 1}},           // overlapping windows: a pixel can win twice
        {{70, 1, 12, 12}, {8, 1, 5, 5}, {.padding = 2}, {2}},  // several chunks
    };
    uint64_t seed = 1000;
    for (const Case& c : cases)
      for (const F::Activation act : {F::Activation::relu, F::Activation::none}) {
        CAPTURE(c.x);
        CAPTURE(static_cast<int>(act));
        Tensor x = random_tensor(c.x, seed++, true), w = random_tensor(c.w, seed++, true);
        Tensor b = random_tensor({c.w[0]}, seed++, true);
        const Tensor fused = F::conv2d_max_pool2d(x, w, b, c.conv, act, c.pool);
        CHECK(std::string(fused.grad_fn()->name()) == "conv2d_max_pool2d");
        const Tensor dy = random_tensor(fused.shape(), seed++);
        fused.backward(dy);
        const std::vector<float> gx = x.grad().to_vector(), gw = w.grad().to_vector(), gb = b.grad().to_vector();
        x.set_grad(Tensor()), w.set_grad(Tensor()), b.set_grad(Tensor());
        const Tensor separate = F::max_pool2d(F::conv2d(x, w, b, c.conv, act), c.pool);
        CHECK(fused.to_vector() == separate.to_vector());
        separate.backward(dy);
        CHECK(gx == x.grad().to_vector());
        CHECK(gw == w.grad().to_vector());
        CHECK(gb == b.grad().to_vector());
      }
  }

  TEST_CASE("gradcheck: conv2d_max_pool2d") {
    // Inputs and weights that keep each window's winner clear of its runner-up and every pooled value
    // clear of ReLU's kink, so finite differences stay on one side of both.
    const Tensor x = distinct_tensor({2, 2, 6, 6}, 1100, true);
    const Tensor w = Tensor::from_vector(
        {0.9f, -0.2f, 0.1f, 0.3f, 0.5f, 0.05f, -0.4f, 0.2f, 0.7f, 0.1f, 0.2f, -0.6f, 0.3f, 0.8f, -0.1f, 0.4f},
        {2, 2, 2, 2}, true);
    const Tensor b = Tensor::from_vector({3.f, -0.5f}, {2}, true);
    expect_gradcheck([](const auto& t) { return F::conv2d_max_pool2d(t[0], t[1], t[2], {}, F::Activation::none, {2}); },
                     {x, w, b});
  }

  TEST_CASE("Sequential runs Conv2d + ReLU + MaxPool2d as one op") {
    Generator gen(11);
    nn::Sequential model;
    model.emplace<nn::Conv2d>(1, 4, 3, nn::Conv2dOptions{.padding = 1}, gen);
    model.emplace<nn::ReLU>();
    model.emplace<nn::MaxPool2d>(2);
    model.emplace<nn::Conv2d>(4, 4, 3, nn::Conv2dOptions{.padding = 1}, gen);
    model.emplace<nn::MaxPool2d>(2);
    const Tensor x = random_tensor({2, 1, 8, 8}, 1200);
    const Tensor y = model(x.detach().set_requires_grad());
    CHECK(std::string(y.grad_fn()->name()) == "conv2d_max_pool2d");
    CHECK(std::string(y.grad_fn()->inputs()[0].grad_fn()->name()) == "conv2d_max_pool2d");
    NoGradGuard no_grad;
    const Tensor by_hand = F::max_pool2d(model[3](F::max_pool2d(relu(model[0](x)), {2})), {2});
    CHECK(y.to_vector() == by_hand.to_vector());
  }

  TEST_CASE("Unflatten turns [B, 784] into [B, 1, 28, 28] as a view") {
    nn::Unflatten unflatten(1, {1, 28, 28});
    const Tensor x = Tensor::ones({3, 784});
    const Tensor y = unflatten(x);
    CHECK(y.shape() == Shape{3, 1, 28, 28});
    CHECK(y.shares_storage(x));
    CHECK(error_of([&] {
            unflatten(Tensor::ones({3, 100}));
          }) == "Unflatten: cannot unflatten dim 1 of size 100 in shape [3, 100] into [1, 28, 28]");
  }

  TEST_CASE("build_model makes the layers a description names, with PyTorch's names and shapes") {
    const std::string cnn =
        "conv(32,3,padding=1) relu maxpool(2) conv(64,3,padding=1) relu maxpool(2) flatten "
        "linear(128) relu dropout(0.25) linear(10)";
    const nn::ModelPlan plan = nn::plan_model(cnn, {1, 28, 28});
    CHECK(plan.output == Shape{10});
    CHECK(plan.parameters == 421642);  // PyTorch's count for the same model
    CHECK(plan.has_dropout);
    Generator init(0), noise(1);
    const auto model = nn::build_model(cnn, {1, 28, 28}, init, &noise);
    const NamedTensors state = model->state_dict();
    REQUIRE(state.size() == plan.state.size());
    for (size_t i = 0; i < state.size(); ++i) {
      CHECK(state[i].first == plan.state[i].first);
      CHECK(state[i].second.shape() == plan.state[i].second);
    }
    CHECK(state[4].first == "7.weight");
    CHECK(state[4].second.shape() == Shape{128, 3136});
    CHECK((*model)(Tensor::ones({2, 1, 28, 28})).shape() == Shape{2, 10});

    // An MLP description over flat inputs is nn::mlp, weights and all.
    Generator a(3), b(3);
    const auto built = nn::build_model("linear(256) relu linear(10)", {784}, a);
    const auto mlp = nn::mlp(784, {256}, 10, b);
    const auto x = built->state_dict(), y = mlp->state_dict();
    REQUIRE(x.size() == y.size());
    for (size_t i = 0; i < x.size(); ++i) {
      CHECK(x[i].first == y[i].first);
      CHECK(x[i].second.to_vector() == y[i].second.to_vector());
    }
    const auto bn = nn::plan_model(
        "conv(4,3,stride=2,bias=0), batchnorm, relu, avgpool(2,stride=1), flatten, "
        "linear(10)",
        {1, 28, 28});
    CHECK(bn.state[0].second == Shape{4, 1, 3, 3});
    CHECK(bn.state[1].first == "1.weight");
    CHECK(bn.state[5].first == "1.num_batches_tracked");
    CHECK(bn.state[6].second == Shape{10, 4 * 12 * 12});
  }

  TEST_CASE("a bad model description is refused before anything is allocated, naming the layer") {
    const Shape img{1, 28, 28};
    CHECK(error_of([&] { nn::plan_model("conv(8,3) relu linear(10)", img); }) ==
          "model: linear(10) (layer 2) needs flat [F] inputs, got [8, 26, 26]; put flatten before it");
    CHECK(error_of([&] { nn::plan_model("flatten conv(8,3)", img); }) ==
          "model: conv(8,3) (layer 1) needs [C, H, W] inputs, got [784]; it cannot come after flatten or linear");
    CHECK(error_of([&] { nn::plan_model("conv(8,31)", img); }) ==
          "model: conv(8,31): kernel 31x31 does not fit the input [1, 28, 28] with padding 0");
    CHECK(error_of([&] { nn::plan_model("conv(8,3,paddin=1)", img); }) ==
          "model: conv(8,3,paddin=1): unknown argument 'paddin'");
    CHECK(error_of([&] { nn::plan_model("conv(8.5,3)", img); }) ==
          "model: conv(8.5,3): 'out' must be a whole number >= 1, got 8.5");
    CHECK(error_of([&] { nn::plan_model("conv(8)", img); }) == "model: conv(8): needs 'kernel'");
    CHECK(error_of([&] { nn::plan_model("dense(10)", img); }) ==
          "model: unknown layer 'dense' (known: conv, maxpool, avgpool, batchnorm, dropout, flatten, linear, relu, "
          "sigmoid, tanh; one defined in a plugin needs --plugin LIBRARY.so before the command)");
    CHECK(error_of([&] { nn::plan_model("flatten linear(1000000000) linear(1000000000)", img); }) ==
          "model: linear(1000000000): weight of shape [1000000000, 784] is too large");
    CHECK(error_of([&] { nn::plan_model("conv(8,3", img); }) == "model: 'conv(' is not closed in 'conv(8,3'");
    CHECK(error_of([&] { nn::plan_model("dropout(1)", img); }) == "model: dropout(1): p must be in [0, 1), got 1");
    CHECK(error_of([&] { nn::plan_model(" , ", img); }) == "model: the description names no layer");
  }

  TEST_CASE("in-place edits of what conv2d and batch_norm saved are caught, running statistics are not") {
    Tensor x = random_tensor({2, 2, 5, 5}, 1300, true), w = random_tensor({3, 2, 3, 3}, 1301, true);
    const Tensor xs = x.detach();  // the same storage, outside the graph
    const Tensor y = F::conv2d(x, w, Tensor(), {.padding = 1});
    {
      NoGradGuard no_grad;
      xs.fill_(1.f);
    }
    const std::string e = error_of([&] { sum(y).backward(); });
    CHECK(e.find("'conv2d' saved for its backward was modified in place afterwards") != std::string::npos);
    // Batch norm updates its running statistics in place on every training forward: a second forward
    // before the first backward must not invalidate the first graph (its backward does not read them).
    nn::BatchNorm2d bn(2);
    const Tensor a = random_tensor({3, 2, 4, 4}, 1302, true);
    const Tensor first = bn(a), second = bn(a * 2.f);
    sum(first * first).backward();
    CHECK(a.grad().defined());
    const Tensor xn = random_tensor({4, 2}, 1303, true);
    Tensor mean = Tensor::zeros({2}), var = Tensor::ones({2});
    const Tensor z = F::batch_norm(xn, mean, var, Tensor(), Tensor(), true);
    {
      NoGradGuard no_grad;
      xn.detach().mul_(2.f);
    }
    CHECK(error_of([&] { sum(z * z).backward(); }).find("'batch_norm' saved") != std::string::npos);
  }
}
