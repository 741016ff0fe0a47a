// Kernel-level tests: the shared per-element math (which the CUDA kernels also run), layout
// coalescing, and the CPU kernels on raw arrays against naive loops.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/cpu.h"
#include "kernels/elementwise_math.h"

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
    CopyLayout l;                                                 // dst [3, 2] = srcᵀ
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
          double expect = 0;
          for (int64_t r = 0; r < reduce; ++r) expect += in[(o * reduce + r) * inner + j];
          CHECK(out[o * inner + j] == doctest::Approx(expect).epsilon(1e-5));
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
    cpu::gemm(1, 2, 2, 3, {a.data(), false, 3, 0}, {a.data(), true, 3, 0}, c.data(), 2, 0);
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
    CHECK(out == std::vector<int32_t>{2, -2, std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min(), 0});
  }
}
