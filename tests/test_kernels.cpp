// Kernel-level tests: the shared per-element math (which the CUDA kernels also run), layout
// coalescing, and the CPU kernels on raw arrays against naive loops. The last cases test on the CPU
// what the CUDA backend computes independently of the device: how a flat thread index finds its
// elements, the reduction rule of max in a tree, the optimizer's tensor chunks, and the GEMM
// transpose trick against a column-major reference (tests/test_cuda.cpp runs the kernels themselves).
#include <doctest/doctest.h>

#include <omp.h>
#include <functional>

#include <cmath>
#include <limits>
#include <vector>

#include <random>

#include "kernels/conv_math.h"
#include "kernels/cpu/cpu.h"
#include "kernels/cuda/gemm_args.h"
#include "kernels/elementwise_math.h"
#include "kernels/optimizer_math.h"
#include "kernels/reduce_math.h"
#include "testing.h"

using namespace minidl::kernels;

TEST_SUITE("kernels") {
  TEST_CASE("elementwise math functors compute their formulas") {
    CHECK(math::Relu{}(-2.f) == 0.f);
    CHECK(math::Relu{}(3.f) == 3.f);
    CHECK(std::isnan(math::Relu{}(NAN)));
    CHECK(math::Sigmoid{}(0.f) == doctest::Approx(0.5));
    CHECK(math::Sigmoid{}(-100.f) == 0.f);  // e^100 overflows to inf; still no NaN
    CHECK(math::Sigmoid{}(100.f) == 1.f);
    CHECK(math::Tanh{}(0.5f) == doctest::Approx(std::tanh(0.5)));
    CHECK(math::Exp{}(1.f) == doctest::Approx(M_E));
    CHECK(math::Log{}(M_E) == doctest::Approx(1.0));
    CHECK(math::Sqrt{}(9.f) == 3.f);
    CHECK(math::Square{}(-3.f) == 9.f);
    CHECK(math::Neg{}(2.f) == -2.f);
    CHECK(math::Div{}(1.f, 4.f) == 0.25f);
    CHECK(math::ReluBackward{}(0.f, 5.f) == 0.f);
    CHECK(math::ReluBackward{}(2.f, 5.f) == 5.f);
    CHECK(math::SigmoidBackward{}(0.25f, 2.f) == doctest::Approx(2 * 0.25 * 0.75));
    CHECK(math::TanhBackward{}(0.5f, 2.f) == doctest::Approx(2 * (1 - 0.25)));
  }

  TEST_CASE("coalesce merges contiguous dims and drops size-1 dims") {
    BinaryLayout l;
    l.ndim = 3;
    const int64_t shape[] = {2, 1, 12}, out[] = {12, 12, 1}, a[] = {12, 0, 1}, b[] = {0, 0, 1};
    for (int d = 0; d < 3; ++d) {
      l.shape[d] = shape[d];
      l.strides[0][d] = out[d];
      l.strides[1][d] = a[d];
      l.strides[2][d] = b[d];
    }
    coalesce(l);  // b repeats along dim 0, so only the size-1 dim goes
    REQUIRE(l.ndim == 2);
    CHECK(l.shape[0] == 2);
    CHECK(l.shape[1] == 12);
    CHECK(l.strides[2][0] == 0);

    CopyLayout c;  // a contiguous [3, 4, 5] copy collapses to one run of 60
    c.ndim = 3;
    const int64_t s[] = {3, 4, 5}, st[] = {20, 5, 1};
    for (int d = 0; d < 3; ++d) c.shape[d] = s[d], c.strides[0][d] = st[d], c.strides[1][d] = st[d];
    coalesce(c);
    CHECK(c.ndim == 1);
    CHECK(c.shape[0] == 60);
  }

  TEST_CASE("binary kernel broadcasts a row against a column") {
    const std::vector<float> col = {1, 2, 3}, row = {10, 20, 30, 40};
    std::vector<float> out(12);
    BinaryLayout l;
    l.ndim = 2;
    l.shape[0] = 3, l.shape[1] = 4;
    l.strides[0][0] = 4, l.strides[0][1] = 1;
    l.strides[1][0] = 1, l.strides[1][1] = 0;  // col repeats along dim 1
    l.strides[2][0] = 0, l.strides[2][1] = 1;  // row repeats along dim 0
    cpu::binary(BinaryOp::add, out.data(), col.data(), row.data(), l);
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 4; ++j) CHECK(out[i * 4 + j] == col[i] + row[j]);
  }

  TEST_CASE("copy kernel transposes through strides") {
    std::vector<float> src(6), dst(6);
    for (int i = 0; i < 6; ++i) src[i] = static_cast<float>(i);  // [2, 3]
    CopyLayout l;                                                // dst [3, 2] = srcᵀ
    l.ndim = 2;
    l.shape[0] = 3, l.shape[1] = 2;
    l.strides[0][0] = 2, l.strides[0][1] = 1;
    l.strides[1][0] = 1, l.strides[1][1] = 3;
    cpu::copy(dst.data(), src.data(), l);
    CHECK(dst == std::vector<float>{0, 3, 1, 4, 2, 5});
  }

  TEST_CASE("sum kernel matches a naive loop for every [outer, reduce, inner] split") {
    const int64_t shapes[][3] = {{1, 100000, 1}, {7, 33, 1}, {1, 64, 256}, {5, 3, 2000}, {3, 0, 4}};
    for (const auto& s : shapes) {
      const int64_t outer = s[0], reduce = s[1], inner = s[2];
      std::vector<float> in(static_cast<size_t>(outer * reduce * inner)), out(static_cast<size_t>(outer * inner));
      for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>((i * 7919) % 1000) / 1000.f - 0.5f;
      cpu::sum(out.data(), in.data(), outer, reduce, inner);
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t j = 0; j < inner; ++j) {
          double expect = 0, abs_sum = 0;
          for (int64_t r = 0; r < reduce; ++r)
            expect += in[(o * reduce + r) * inner + j], abs_sum += std::fabs(in[(o * reduce + r) * inner + j]);
          // A contiguous run adds in double, a strided one in float across whole rows: either way
          // within float's bound for a sum of `reduce` terms, plus the final rounding to float.
          const double tol = minidl::testing::sum_error_bound(reduce, abs_sum) + 0x1p-24 * std::fabs(expect);
          CHECK(std::fabs(out[o * inner + j] - expect) <= tol);
        }
    }
  }

  TEST_CASE("sum kernel gives bitwise the same result on 1 and 2 threads") {
    std::vector<float> in(3000000);  // enough work for two threads
    for (size_t i = 0; i < in.size(); ++i) in[i] = std::sin(static_cast<float>(i));
    float one = 0, two = 0;
    const int before = omp_get_max_threads();
    omp_set_num_threads(1);
    cpu::sum(&one, in.data(), 1, static_cast<int64_t>(in.size()), 1);
    omp_set_num_threads(2);
    cpu::sum(&two, in.data(), 1, static_cast<int64_t>(in.size()), 1);
    omp_set_num_threads(before);
    CHECK(one == two);
  }

  TEST_CASE("max kernel returns the first maximum and treats NaN as the maximum") {
    const std::vector<float> in = {1, 5, 5, 2, /**/ 0, NAN, 9, NAN};
    float out[2];
    int32_t idx[2];
    cpu::max(out, idx, in.data(), 2, 4, 1);
    CHECK(out[0] == 5.f);
    CHECK(idx[0] == 1);
    CHECK(std::isnan(out[1]));
    CHECK(idx[1] == 1);
  }

  TEST_CASE("softmax kernel rows sum to one and survive huge logits") {
    const std::vector<float> in = {1000.f, 1001.f, 1002.f, -5.f, 0.f, 5.f};
    std::vector<float> out(6), lout(6);
    cpu::softmax(out.data(), in.data(), 2, 3, 1, false);
    cpu::softmax(lout.data(), in.data(), 2, 3, 1, true);
    for (int r = 0; r < 2; ++r) {
      CHECK(out[r * 3] + out[r * 3 + 1] + out[r * 3 + 2] == doctest::Approx(1.0));
      for (int i = 0; i < 3; ++i) CHECK(lout[r * 3 + i] == doctest::Approx(std::log(out[r * 3 + i])));
    }
    CHECK(out[2] == doctest::Approx(1.0 / (1.0 + std::exp(-1.0) + std::exp(-2.0))));
  }

  TEST_CASE("gemm kernel multiplies transposed operands in place") {
    // A = [[1, 2, 3], [4, 5, 6]] (2×3); B = Aᵀ (3×2) stored as A itself, transposed.
    const std::vector<float> a = {1, 2, 3, 4, 5, 6};
    std::vector<float> c(4);
    cpu::gemm(1, 2, 2, 3, {a.data(), false, 3, 0}, {a.data(), true, 3, 0}, c.data(), 2, 0, 0.f);
    CHECK(c == std::vector<float>{14, 32, 32, 77});
  }

  TEST_CASE("gather_rows copies whole rows by index") {
    const std::vector<float> in = {0, 1, 2, 3, 4, 5};  // 3 rows of 2
    const std::vector<int32_t> rows = {2, 2, 0};
    std::vector<float> out(6);
    cpu::gather_rows(out.data(), in.data(), rows.data(), 3, 2);
    CHECK(out == std::vector<float>{4, 5, 4, 5, 0, 1});
  }

  TEST_CASE("cross_entropy kernels: mean NLL of softmax, gradient softmax minus onehot") {
    const std::vector<float> logits = {1.f, 2.f, 3.f, 1000.f, 0.f, -1000.f};  // second row would overflow e^x
    const std::vector<int32_t> targets = {2, 1};
    std::vector<float> probs(6), dx(6);
    float loss = 0;
    cpu::cross_entropy_forward(&loss, probs.data(), logits.data(), targets.data(), 2, 3);
    const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
    CHECK(loss == doctest::Approx(((lse - 3.0) + 1000.0) / 2));
    const float dloss = 2.f;
    cpu::cross_entropy_backward(dx.data(), probs.data(), targets.data(), &dloss, 2, 3);
    CHECK(dx[2] == doctest::Approx(std::exp(3.0 - lse) - 1.0));
    CHECK(dx[0] == doctest::Approx(std::exp(1.0 - lse)));
    CHECK(dx[3] == doctest::Approx(1.0));  // softmax ≈ [1, 0, 0], target 1: (p − onehot)·2/2
    CHECK(dx[4] == doctest::Approx(-1.0));
  }

  TEST_CASE("casts truncate toward zero and saturate instead of overflowing") {
    const std::vector<float> in = {2.7f, -2.7f, 3e9f, -3e9f, NAN};
    std::vector<int32_t> out(5);
    cpu::cast_float32_to_int32(out.data(), in.data(), 5);
    CHECK(out ==
          std::vector<int32_t>{2, -2, std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min(), 0});
  }

  TEST_CASE("offsets_at finds each operand's element of a flat index, as nested loops do") {
    // A [2, 3, 4] destination written through a permuted source: src strides of a [4, 2, 3] array
    // seen as [2, 3, 4] (permute(1, 2, 0)), plus a broadcast operand (stride 0 along dim 1).
    StridedLayout<3> l;
    l.ndim = 3;
    const int64_t shape[] = {2, 3, 4}, dst[] = {12, 4, 1}, src[] = {3, 1, 6}, bc[] = {4, 0, 1};
    for (int d = 0; d < 3; ++d) {
      l.shape[d] = shape[d];
      l.strides[0][d] = dst[d];
      l.strides[1][d] = src[d];
      l.strides[2][d] = bc[d];
    }
    CHECK(numel(l) == 24);
    int64_t linear = 0;
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 3; ++j)
        for (int64_t k = 0; k < 4; ++k, ++linear) {
          int64_t off[3];
          offsets_at(l, linear, off);
          CHECK(off[0] == i * 12 + j * 4 + k);
          CHECK(off[1] == i * 3 + j * 1 + k * 6);
          CHECK(off[2] == i * 4 + k);
        }
    StridedLayout<2> scalar;  // 0-d: one element at offset 0
    int64_t off[2] = {-1, -1};
    offsets_at(scalar, 0, off);
    CHECK(numel(scalar) == 1);
    CHECK((off[0] == 0 && off[1] == 0));
  }

  TEST_CASE("max_combine is PyTorch's max rule, and any reduction tree gives the scan's answer") {
    using math::max_combine;
    using math::MaxArg;
    CHECK(max_combine({1.f, 0}, {2.f, 1}).index == 1);
    CHECK(max_combine({2.f, 3}, {2.f, 1}).index == 1);                       // ties: the first index
    CHECK(max_combine({NAN, 5}, {9.f, 1}).index == 5);                       // NaN beats numbers
    CHECK(max_combine({NAN, 5}, {NAN, 2}).index == 2);                       // the first NaN
    CHECK(max_combine({-INFINITY, 2147483647}, {-INFINITY, 4}).index == 4);  // the CUDA identity loses
    std::mt19937 rng(1);
    for (int trial = 0; trial < 200; ++trial) {
      const int n = 1 + static_cast<int>(rng() % 300);
      std::vector<float> v(static_cast<size_t>(n));
      for (float& x : v) {
        const unsigned r = rng() % 20;
        x = r == 0 ? NAN : r < 5 ? 3.f : static_cast<float>(rng() % 7);  // many ties, some NaN
      }
      float cpu_value;
      int32_t cpu_index;
      cpu::max(&cpu_value, &cpu_index, v.data(), 1, n, 1);
      // A block_reduce-like tree: strided per-"thread" partials, then pairwise halving.
      const int threads = 1 + static_cast<int>(rng() % 64);
      std::vector<MaxArg> partial(static_cast<size_t>(threads), MaxArg{-INFINITY, 2147483647});
      for (int i = 0; i < n; ++i) partial[i % threads] = max_combine(partial[i % threads], {v[i], i});
      while (partial.size() > 1) {
        std::vector<MaxArg> next((partial.size() + 1) / 2);
        for (size_t i = 0; i < next.size(); ++i)
          next[i] = 2 * i + 1 < partial.size() ? max_combine(partial[2 * i], partial[2 * i + 1]) : partial[2 * i];
        partial.swap(next);
      }
      CAPTURE(trial);
      CHECK(partial[0].index == cpu_index);
      CHECK((partial[0].value == cpu_value || (std::isnan(partial[0].value) && std::isnan(cpu_value))));
    }
  }

  TEST_CASE("cross_entropy_grad and float_to_int32, the per-element rules both backends run") {
    CHECK(math::cross_entropy_grad(0.25f, false, 0.5f) == 0.125f);
    CHECK(math::cross_entropy_grad(0.25f, true, 0.5f) == 0.125f - 0.5f);
    CHECK(math::float_to_int32(-2.7f) == -2);
    CHECK(math::float_to_int32(2.7f) == 2);
    CHECK(math::float_to_int32(NAN) == 0);
    CHECK(math::float_to_int32(3e9f) == 2147483647);
    CHECK(math::float_to_int32(-3e9f) == -2147483647 - 1);
    CHECK(math::float_to_int32(-2147483648.f) == -2147483647 - 1);
  }

  TEST_CASE("the fused SGD step's chunks map every flat element to its tensor, as the CUDA kernel walks them") {
    // 20 tensors (two launches of 16 and 4), sizes 0 to 300, the CUDA kernel's walk simulated for a
    // few grid sizes: it must update every element exactly once, which gives bitwise the result of a
    // plain loop over each tensor in this file (the same flags), and the CPU backend's step within
    // rounding (the library may be built with -march=native, whose FMA rounds once where this
    // file rounds twice).
    std::mt19937 rng(2);
    std::vector<std::vector<float>> p(20), g(20), b(20);
    for (size_t t = 0; t < p.size(); ++t) {
      const size_t n = t == 3 || t == 16 ? 0 : 1 + rng() % 300;
      for (auto* v : {&p[t], &g[t], &b[t]}) {
        v->resize(n);
        for (float& x : *v) x = static_cast<float>(static_cast<int>(rng() % 2001) - 1000) / 500.f;
      }
    }
    const SgdHyper h{.lr = 0.1f, .weight_decay = 0.01f, .momentum = 0.9f, .dampening = 0.1f, .nesterov = true};
    const auto tensors_of = [&](std::vector<std::vector<float>>& params, std::vector<std::vector<float>>& buffers) {
      std::vector<SgdTensor> ts;
      for (size_t t = 0; t < params.size(); ++t)
        ts.push_back({params[t].data(), g[t].data(), t % 2 ? nullptr : buffers[t].data(),
                      static_cast<int64_t>(params[t].size()), t % 4 == 0});
      return ts;
    };
    auto cpu_p = p, cpu_b = b, loop_p = p, loop_b = b;
    const std::vector<SgdTensor> cpu_t = tensors_of(cpu_p, cpu_b), loop_t = tensors_of(loop_p, loop_b);
    cpu::sgd_step(cpu_t.data(), static_cast<int64_t>(cpu_t.size()), h);
    for (const SgdTensor& t : loop_t)
      for (int64_t e = 0; e < t.n; ++e)
        math::sgd_update(t.param[e], t.grad[e], t.buffer ? t.buffer + e : nullptr, t.first, h);
    for (size_t t = 0; t < p.size(); ++t)
      for (size_t e = 0; e < p[t].size(); ++e) {
        CHECK(loop_p[t][e] == doctest::Approx(cpu_p[t][e]).epsilon(1e-6).scale(1.0));
        CHECK(loop_b[t][e] == doctest::Approx(cpu_b[t][e]).epsilon(1e-6).scale(1.0));
      }
    for (const int64_t grid_threads : {1, 7, 256, 100000}) {
      CAPTURE(grid_threads);
      auto sim_p = p, sim_b = b;
      const std::vector<SgdTensor> ts = tensors_of(sim_p, sim_b);
      for (size_t first = 0; first < ts.size(); first += math::SgdChunk::kPerLaunch) {
        const math::SgdChunk chunk = math::make_sgd_chunk(ts.data() + first, static_cast<int64_t>(ts.size() - first));
        CHECK(chunk.count == std::min<int>(16, static_cast<int>(ts.size() - first)));
        for (int64_t thread = 0; thread < grid_threads; ++thread) {
          int k = 0;
          for (int64_t i = thread; i < chunk.start[chunk.count]; i += grid_threads) {
            k = math::sgd_chunk_tensor(chunk, i, k);
            const SgdTensor& t = chunk.tensors[k];
            const int64_t e = i - chunk.start[k];
            REQUIRE((e >= 0 && e < t.n));
            math::sgd_update(t.param[e], t.grad[e], t.buffer ? t.buffer + e : nullptr, t.first, h);
          }
        }
      }
      CHECK(sim_p == loop_p);
      CHECK(sim_b == loop_b);
    }
  }

  TEST_CASE("the fused Adam, RMSprop and Adagrad steps: CPU kernel, a plain loop and the CUDA chunk walk agree") {
    // Every option that changes the kernel's code path: amsgrad, decoupled or coupled decay,
    // RMSprop's momentum and centering. 20 tensors (two launches), sizes 0 to 300, with per-tensor
    // step counts. The plain loop runs the same math function on each element in this file; the
    // simulated CUDA walk must give bitwise its result, and the CPU backend the same within rounding.
    std::mt19937 rng(5);
    std::vector<std::vector<float>> p(20), g(20), s0(20), s1(20), s2(20);
    for (size_t t = 0; t < p.size(); ++t) {
      const size_t n = t == 3 || t == 16 ? 0 : 1 + rng() % 300;
      for (auto* v : {&p[t], &g[t], &s0[t], &s1[t], &s2[t]}) {
        v->resize(n);
        for (float& x : *v) x = static_cast<float>(static_cast<int>(rng() % 2001) - 1000) / 500.f;
      }
      for (float& x : s1[t]) x = std::fabs(x);  // second moments are ≥ 0
      for (float& x : s2[t]) x = std::fabs(x) + 1.f;
    }
    struct Case {
      std::string name;
      int slots;  // 3: all three state arrays; RMSprop's optional ones by bit
      std::function<void(const OptimTensor*, int64_t)> cpu_step;
      std::function<void(const OptimTensor&, int64_t)> element;
      std::function<void(OptimTensor&, int64_t)> scalars;  // per-tensor scalars from a step count
    };
    const AdamHyper adam{.lr = 0.01f,
                         .beta1 = 0.9f,
                         .beta2 = 0.99f,
                         .eps = 1e-6f,
                         .weight_decay = 0.05f,
                         .one_minus_beta1 = 0.1f,
                         .one_minus_beta2 = 0.01f,
                         .decay = 1.f - 0.01f * 0.05f};
    const auto adam_case = [&](bool amsgrad, bool decoupled) {
      AdamHyper h = adam;
      h.amsgrad = amsgrad, h.decoupled = decoupled;
      return Case{std::string("adam") + (amsgrad ? "/amsgrad" : "") + (decoupled ? "/decoupled" : ""), amsgrad ? 7 : 3,
                  [h](const OptimTensor* t, int64_t c) { cpu::adam_step(t, c, h); },
                  [h](const OptimTensor& t, int64_t e) {
                    math::adam_update(t.param[e], t.grad[e], t.state[0][e], t.state[1][e],
                                      t.state[2] ? t.state[2] + e : nullptr, h, t.step_size, t.correction);
                  },
                  [h](OptimTensor& t, int64_t step) { math::adam_scalars(h, step, t.step_size, t.correction); }};
    };
    const auto rmsprop_case = [&](bool momentum, bool centered) {
      const RMSpropHyper h{.lr = 0.01f,
                           .alpha = 0.9f,
                           .one_minus_alpha = 0.1f,
                           .eps = 1e-6f,
                           .weight_decay = 0.05f,
                           .momentum = momentum ? 0.8f : 0.f};
      return Case{std::string("rmsprop") + (momentum ? "/momentum" : "") + (centered ? "/centered" : ""),
                  1 | (momentum ? 2 : 0) | (centered ? 4 : 0),
                  [h](const OptimTensor* t, int64_t c) { cpu::rmsprop_step(t, c, h); },
                  [h](const OptimTensor& t, int64_t e) {
                    math::rmsprop_update(t.param[e], t.grad[e], t.state[0][e], t.state[1] ? t.state[1] + e : nullptr,
                                         t.state[2] ? t.state[2] + e : nullptr, h);
                  },
                  [](OptimTensor&, int64_t) {}};
    };
    const AdagradHyper adagrad{.lr = 0.05f, .lr_decay = 0.1f, .weight_decay = 0.05f, .eps = 1e-6f};
    const std::vector<Case> cases = {
        adam_case(false, false),
        adam_case(true, false),
        adam_case(false, true),
        adam_case(true, true),
        rmsprop_case(false, false),
        rmsprop_case(true, false),
        rmsprop_case(false, true),
        rmsprop_case(true, true),
        Case{"adagrad", 1, [&](const OptimTensor* t, int64_t c) { cpu::adagrad_step(t, c, adagrad); },
             [&](const OptimTensor& t, int64_t e) {
               math::adagrad_update(t.param[e], t.grad[e], t.state[0][e], adagrad, t.step_size);
             },
             [&](OptimTensor& t, int64_t step) { t.step_size = math::adagrad_step_size(adagrad, step); }},
    };
    for (const Case& c : cases) {
      CAPTURE(c.name);
      using Arrays = std::vector<std::vector<float>>;
      const auto tensors_of = [&](Arrays& params, Arrays& a0, Arrays& a1, Arrays& a2) {
        std::vector<OptimTensor> ts;
        for (size_t t = 0; t < params.size(); ++t) {
          OptimTensor d{params[t].data(),
                        g[t].data(),
                        {a0[t].data(), c.slots & 2 ? a1[t].data() : nullptr, c.slots & 4 ? a2[t].data() : nullptr},
                        static_cast<int64_t>(params[t].size()),
                        0.f,
                        0.f};
          if (c.name.starts_with("adam")) d.state[1] = a1[t].data();  // Adam always has v
          c.scalars(d, 1 + static_cast<int64_t>(t % 5));              // each tensor its own step count
          ts.push_back(d);
        }
        return ts;
      };
      // RMSprop's and Adagrad's first slot is a sum of squares (≥ 0, and for centered RMSprop above ḡ²).
      Arrays a0 = s0, a2 = s2;
      if (!c.name.starts_with("adam"))
        for (size_t t = 0; t < p.size(); ++t)
          for (size_t e = 0; e < p[t].size(); ++e) a0[t][e] = std::fabs(s0[t][e]) + 2.f, a2[t][e] = 0.5f * s0[t][e];
      Arrays cpu_p = p, cpu_0 = a0, cpu_1 = s1, cpu_2 = a2, loop_p = p, loop_0 = a0, loop_1 = s1, loop_2 = a2;
      const auto cpu_t = tensors_of(cpu_p, cpu_0, cpu_1, cpu_2), loop_t = tensors_of(loop_p, loop_0, loop_1, loop_2);
      c.cpu_step(cpu_t.data(), static_cast<int64_t>(cpu_t.size()));
      for (const OptimTensor& t : loop_t)
        for (int64_t e = 0; e < t.n; ++e) c.element(t, e);
      for (size_t t = 0; t < p.size(); ++t)
        for (size_t e = 0; e < p[t].size(); ++e) {
          REQUIRE(std::isfinite(loop_p[t][e]));
          CHECK(loop_p[t][e] == doctest::Approx(cpu_p[t][e]).epsilon(1e-5).scale(1.0));
          CHECK(loop_0[t][e] == doctest::Approx(cpu_0[t][e]).epsilon(1e-5).scale(1.0));
          CHECK(loop_1[t][e] == doctest::Approx(cpu_1[t][e]).epsilon(1e-5).scale(1.0));
          CHECK(loop_2[t][e] == doctest::Approx(cpu_2[t][e]).epsilon(1e-5).scale(1.0));
        }
      for (const int64_t grid_threads : {1, 7, 100000}) {
        CAPTURE(grid_threads);
        Arrays sim_p = p, sim_0 = a0, sim_1 = s1, sim_2 = a2;
        const auto ts = tensors_of(sim_p, sim_0, sim_1, sim_2);
        for (size_t first = 0; first < ts.size(); first += math::TensorChunk<OptimTensor>::kPerLaunch) {
          const auto chunk = math::make_chunk(ts.data() + first, static_cast<int64_t>(ts.size() - first));
          for (int64_t thread = 0; thread < grid_threads; ++thread) {
            int k = 0;
            for (int64_t i = thread; i < chunk.start[chunk.count]; i += grid_threads) {
              k = math::chunk_tensor(chunk, i, k);
              const int64_t e = i - chunk.start[k];
              REQUIRE((e >= 0 && e < chunk.tensors[k].n));
              c.element(chunk.tensors[k], e);
            }
          }
        }
        CHECK(sim_p == loop_p);
        CHECK(sim_0 == loop_0);
        CHECK(sim_1 == loop_1);
        CHECK(sim_2 == loop_2);
      }
    }
  }

  TEST_CASE("Adam's and Adagrad's per-tensor scalars: torch's bias corrections and decayed lr, in double") {
    float step_size = 0, correction = 0;
    math::adam_scalars({.lr = 0.01f, .beta1 = 0.9f, .beta2 = 0.999f}, 1, step_size, correction);
    CHECK(step_size == doctest::Approx(0.01f / 0.1).epsilon(1e-6));  // lr / (1 − 0.9)
    CHECK(correction == doctest::Approx(std::sqrt(0.001)).epsilon(1e-5));
    math::adam_scalars({.lr = 0.01f, .beta1 = 0.9f, .beta2 = 0.999f}, 1000, step_size, correction);
    CHECK(step_size == doctest::Approx(0.01).epsilon(1e-6));
    CHECK(math::adagrad_step_size({.lr = 0.1f, .lr_decay = 0.5f}, 3) == doctest::Approx(0.05).epsilon(1e-6));
    // amsgrad keeps the larger second moment; centered RMSprop subtracts the mean's square.
    float p = 1.f, m = 0.f, v = 0.f, vmax = 4.f;
    const AdamHyper h{.lr = 0.1f, .eps = 0.f, .one_minus_beta1 = 0.1f, .one_minus_beta2 = 0.001f, .amsgrad = true};
    math::adam_update(p, 2.f, m, v, &vmax, h, 1.f, 1.f);
    CHECK(vmax == 4.f);
    CHECK(p == doctest::Approx(1.f - 0.2f / 2.f));  // m = 0.2, denominator √4
    float sq = 1.f, avg = 0.5f;
    float q = 0.f;
    math::rmsprop_update(q, 0.f, sq, nullptr, &avg, {.lr = 1.f, .alpha = 1.f, .one_minus_alpha = 0.f, .eps = 0.f});
    CHECK(q == 0.f);
    CHECK(sq == 1.f);
  }

  TEST_CASE("row-major GEMM as cuBLAS's column-major call: the transpose trick, checked on the CPU") {
    // What cublasSgemmStridedBatched computes, written out: C'[i + j·ldc] = Σ_l op(A')[i, l] op(B')[l, j],
    // every matrix column-major.
    const auto column_major_gemm = [](const cuda::ColumnMajorGemm& g, float* c, int64_t batch) {
      for (int64_t bi = 0; bi < batch; ++bi)
        for (int64_t j = 0; j < g.n; ++j)
          for (int64_t i = 0; i < g.m; ++i) {
            double acc = 0;
            for (int64_t l = 0; l < g.k; ++l) {
              const float* a = g.a + bi * g.stride_a;
              const float* b = g.b + bi * g.stride_b;
              const float av = g.transpose_a ? a[l + i * g.lda] : a[i + l * g.lda];
              const float bv = g.transpose_b ? b[j + l * g.ldb] : b[l + j * g.ldb];
              acc += static_cast<double>(av) * bv;
            }
            c[bi * g.stride_c + i + j * g.ldc] = static_cast<float>(acc);
          }
    };
    std::mt19937 rng(3);
    const auto random_vector = [&](size_t n) {
      std::vector<float> v(n);
      for (float& x : v) x = static_cast<float>(static_cast<int>(rng() % 17) - 8);  // small integers: exact sums
      return v;
    };
    const int64_t batch = 2, m = 3, k = 4, n = 5;
    for (const bool ta : {false, true})
      for (const bool tb : {false, true}) {
        CAPTURE(ta);
        CAPTURE(tb);
        // Row-major A (m×k, or stored as its k×m transpose) and B (k×n, or n×k), with padded leading dims.
        const int64_t lda = (ta ? m : k) + 2, ldb = (tb ? k : n) + 1;
        const int64_t a_rows = ta ? k : m, b_rows = tb ? n : k;
        const std::vector<float> a = random_vector(static_cast<size_t>(batch * a_rows * lda));
        const std::vector<float> b = random_vector(static_cast<size_t>(b_rows * ldb));  // shared: batch stride 0
        const auto A = [&](int64_t bi, int64_t i, int64_t l) {
          return a[bi * a_rows * lda + (ta ? l * lda + i : i * lda + l)];
        };
        const auto B = [&](int64_t l, int64_t j) { return b[tb ? j * ldb + l : l * ldb + j]; };
        const GemmOperand ga{a.data(), ta, lda, a_rows * lda}, gb{b.data(), tb, ldb, 0};
        std::vector<float> c(static_cast<size_t>(batch * m * n), NAN);
        column_major_gemm(cuda::to_column_major(m, n, k, ga, gb, n, m * n), c.data(), batch);
        for (int64_t bi = 0; bi < batch; ++bi)
          for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) {
              float want = 0;
              for (int64_t l = 0; l < k; ++l) want += A(bi, i, l) * B(l, j);
              CHECK(c[static_cast<size_t>(bi * m * n + i * n + j)] == want);
            }
      }
  }

  TEST_CASE("convolution and pooling kernels equal the per-element math the CUDA kernels run, bit for bit") {
    // The CPU kernels walk rows and scatter; the CUDA kernels give each thread one element and run
    // conv_math.h's functions. Equal bits here mean equal results there, whatever the layout.
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> dist(-1.f, 1.f);
    struct Geometry {
      int64_t h, w, kh, kw, stride, pad, dilation;
    };
    for (const Geometry g :
         {Geometry{7, 6, 3, 3, 1, 1, 1}, Geometry{9, 8, 3, 2, 2, 1, 2}, Geometry{5, 5, 2, 2, 2, 0, 1},
          Geometry{6, 7, 4, 3, 3, 2, 1}, Geometry{8, 8, 1, 1, 1, 0, 1}, Geometry{6, 8, 2, 2, 2, 0, 1},
          Geometry{10, 4, 2, 2, 2, 0, 1}}) {
      CAPTURE(g.h);
      CAPTURE(g.kh);
      CAPTURE(g.stride);
      CAPTURE(g.pad);
      CAPTURE(g.dilation);
      Window2d win{.height = g.h,
                   .width = g.w,
                   .kernel_h = g.kh,
                   .kernel_w = g.kw,
                   .stride_h = g.stride,
                   .stride_w = g.stride,
                   .pad_h = g.pad,
                   .pad_w = g.pad,
                   .dilation_h = g.dilation,
                   .dilation_w = g.dilation};
      win.out_h = window_out_size(g.h, g.kh, g.stride, g.pad, g.dilation);
      win.out_w = window_out_size(g.w, g.kw, g.stride, g.pad, g.dilation);
      const int64_t batch = 2, channels = 3, rows = channels * win.taps(), columns = batch * win.out_size();
      std::vector<float> x(static_cast<size_t>(batch * channels * win.in_size()));
      for (float& v : x) v = dist(rng);
      std::vector<float> col(static_cast<size_t>(rows * columns)), dx(x.size());
      cpu::im2col(col.data(), x.data(), batch, channels, win);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t n = 0; n < columns; ++n)
          REQUIRE(col[r * columns + n] == math::im2col_value(x.data(), win, channels, r, n));
      for (float& v : col) v = dist(rng);
      cpu::col2im(dx.data(), col.data(), batch, channels, win);
      for (int64_t i = 0; i < static_cast<int64_t>(dx.size()); ++i)
        REQUIRE(dx[i] == math::col2im_value(col.data(), win, channels, columns, i));

      if (g.dilation != 1 || g.kh != g.kw || 2 * g.pad > g.kh) continue;  // pooling: square windows, no dilation
      const int64_t planes = batch * channels;
      // Few distinct values, NaN among them: ties and NaNs in every position of the windows.
      const float values[] = {-1.f, 0.f, 0.5f, 0.5f, 1.f, NAN};
      std::uniform_int_distribution<int> pick(0, 5);
      for (float& v : x) v = values[pick(rng)];
      std::vector<float> out(static_cast<size_t>(planes * win.out_size())), dy(out.size());
      std::vector<int32_t> idx(out.size());
      for (float& v : dy) v = dist(rng);
      cpu::max_pool2d(out.data(), idx.data(), x.data(), planes, win);
      for (int64_t p = 0; p < planes; ++p)
        for (int64_t o = 0; o < win.out_size(); ++o) {
          int32_t want_index = -1;
          const float want =
              math::max_pool_value(x.data() + p * win.in_size(), win, o / win.out_w, o % win.out_w, &want_index);
          const size_t at = static_cast<size_t>(p * win.out_size() + o);
          REQUIRE(idx[at] == want_index);
          const bool same = out[at] == want || (std::isnan(out[at]) && std::isnan(want));
          REQUIRE(same);
        }
      cpu::max_pool2d_backward(dx.data(), dy.data(), idx.data(), planes, win);
      for (int64_t i = 0; i < static_cast<int64_t>(dx.size()); ++i) {
        const int64_t p = i / win.in_size(), h = (i % win.in_size()) / g.w, c = i % g.w;
        REQUIRE(dx[i] == math::max_pool_backward_value(dy.data() + p * win.out_size(), idx.data() + p * win.out_size(),
                                                       win, h, c));
      }
      // The fused conv output + ReLU + max pooling, reading planes in the GEMM's [channels, batch·L] layout.
      std::vector<float> yt(x.size()), bias = {0.3f, -0.2f, 0.f}, pooled(out.size()), dzt(x.size());
      for (int64_t o = 0; o < channels; ++o)
        for (int64_t b = 0; b < batch; ++b)
          for (int64_t k = 0; k < win.in_size(); ++k)
            yt[(o * batch + b) * win.in_size() + k] = x[(b * channels + o) * win.in_size() + k];
      cpu::conv_max_pool2d(pooled.data(), idx.data(), yt.data(), bias.data(), batch, channels, win, Activation::relu);
      std::vector<float> dbias(3, 0.f);
      cpu::conv_max_pool2d_backward(dzt.data(), dbias.data(), pooled.data(), idx.data(), dy.data(), batch, channels,
                                    win, Activation::relu);
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t o = 0; o < channels; ++o) {
          const float* plane = yt.data() + (o * batch + b) * win.in_size();
          const int64_t p = (b * channels + o) * win.out_size();
          for (int64_t q = 0; q < win.out_size(); ++q) {
            int32_t want_index = -1;
            const float want = math::Relu{}(
                math::max_pool_value<true>(plane, win, q / win.out_w, q % win.out_w, &want_index, bias[o]));
            REQUIRE(idx[p + q] == want_index);
            const bool same = pooled[p + q] == want || (std::isnan(pooled[p + q]) && std::isnan(want));
            REQUIRE(same);
          }
          for (int64_t k = 0; k < win.in_size(); ++k)
            REQUIRE(
                dzt[(o * batch + b) * win.in_size() + k] ==
                math::max_pool_backward_value(dy.data() + p, idx.data() + p, win, k / g.w, k % g.w, pooled.data() + p));
        }
      cpu::avg_pool2d(out.data(), x.data(), planes, win);
      cpu::avg_pool2d_backward(dx.data(), dy.data(), planes, win);
      for (int64_t i = 0; i < static_cast<int64_t>(dx.size()); ++i) {
        const int64_t p = i / win.in_size(), h = (i % win.in_size()) / g.w, c = i % g.w;
        REQUIRE(dx[i] == math::avg_pool_backward_value(dy.data() + p * win.out_size(), win, h, c));
      }
    }
  }

  TEST_CASE("dropout masks depend only on seed and position, keep 1 - p of the elements and scale them") {
    std::vector<float> mask(100000);
    cpu::dropout_mask(mask.data(), static_cast<int64_t>(mask.size()), 42, 0.3f);
    int64_t kept = 0;
    for (size_t i = 0; i < mask.size(); ++i) {
      REQUIRE(mask[i] == math::dropout_factor(42, static_cast<int64_t>(i), 0.3f, 1.f / 0.7f));
      const bool kept_or_dropped = mask[i] == 0.f || mask[i] == 1.f / 0.7f;
      REQUIRE(kept_or_dropped);
      kept += mask[i] != 0.f;
    }
    CHECK(std::fabs(kept / 100000.0 - 0.7) < 0.006);  // sd ≈ 0.0014
    int differ = 0;                                   // another seed, another mask
    for (int64_t i = 0; i < 64; ++i)
      differ += math::dropout_factor(43, i, 0.3f, 1.f) != math::dropout_factor(42, i, 0.3f, 1.f);
    CHECK(differ > 10);
  }

  TEST_CASE("gemm accumulates into C with beta = 1") {
    const std::vector<float> a = {1, 2, 3, 4}, b = {1, 0, 0, 1};
    std::vector<float> c = {10, 20, 30, 40};
    cpu::gemm(1, 2, 2, 2, {a.data(), false, 2, 0}, {b.data(), false, 2, 0}, c.data(), 2, 0, 1.f);
    CHECK(c == std::vector<float>{11, 22, 33, 44});
  }
}
