// The CUDA backend against the CPU backend: every kernel of the table, reached through the public
// ops, on random inputs (not zeros), and whole training runs. Each case compares a result computed on
// cuda:0 with the same computation on the CPU, within the tolerance of its kind (the table below).
// Without a GPU every case is skipped, visibly: CTest lists it as "Skipped" with the reason.
// The device-independent parts of the CUDA code (the math both backends run, the GEMM transpose
// trick, the optimizer's tensor chunks) are tested on the CPU in test_kernels.cpp.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <minidl/minidl.h>
#include "core/dispatch.h"
#include "ops_table.h"
#include "testing.h"

using namespace minidl;

namespace {

const Device kGpu = Device::cuda(0);
const Device kCpu = Device::cpu();

#define REQUIRE_GPU()                                                                      \
  do {                                                                                     \
    if (!cuda::is_available()) SKIP_TEST("no CUDA device: " + cuda::unavailable_reason()); \
  } while (0)

// How far a CUDA result may be from the CPU's: |cuda − cpu| ≤ abs + rel·|cpu|, per kind of op.
struct Tolerance {
  double rel, abs;
};
const std::map<std::string, Tolerance> kTolerance = {
    // Data movement, comparisons, max/argmax, relu, and + − × of two floats: IEEE arithmetic is
    // exact on both, so the results are bit for bit the same.
    {"exact", {0, 0}},
    // expf, logf, tanhf: CUDA's device functions are within 2 ulp of glibc's. Division and sqrtf
    // are IEEE on both (nvcc's default -prec-div/-prec-sqrt), but nvcc contracts a·b + c into one
    // FMA (one rounding instead of two) in the sigmoid/tanh gradients and the optimizer update.
    {"ulp", {4e-6, 1e-7}},
    // Sums and the softmax family: double accumulators, added in another order (a tree on the GPU).
    {"sum", {1e-5, 1e-6}},
    // A chain of ops (matmul, tanh, exp, log, division, softmax…) and its backward: each link's
    // few-ulp differences pass on to the next.
    {"chain", {1e-4, 1e-5}},
    // A few optimizer steps: each step's ulp differences carry into the next.
    {"steps", {1e-5, 1e-6}},
    // cuBLAS's FP32 GEMM (TF32 off) adds the k products in its own order: a few ulp of the
    // sum's magnitude, which for these inputs (|x| ≤ 2, k ≤ 784) stays under 1e-3.
    {"gemm", {1e-4, 1e-3}},
    // Whole training runs: each step's rounding differences feed the next step.
    {"training", {2e-3, 1e-3}},
};

Tensor random(const Shape& shape, uint64_t seed, float lo = -2.f, float hi = 2.f) {
  Generator gen(seed);
  return Tensor::uniform(shape, lo, hi, gen);
}

// The CUDA result `gpu` against the CPU result `cpu`, elementwise; NaN must meet NaN, ±inf equal.
void check_close(const Tensor& gpu, const Tensor& cpu, const std::string& kind) {
  CAPTURE(kind);
  REQUIRE(gpu.device() == kGpu);
  REQUIRE(cpu.device() == kCpu);
  REQUIRE(gpu.shape() == cpu.shape());
  REQUIRE(gpu.dtype() == cpu.dtype());
  if (gpu.dtype() == DType::int32) {
    CHECK(gpu.to_int_vector() == cpu.to_int_vector());
    return;
  }
  const Tolerance tol = kTolerance.at(kind);
  const std::vector<float> a = gpu.to_vector(), b = cpu.to_vector();
  int64_t bad = 0, worst = -1;
  double worst_excess = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) || std::isnan(b[i]) || std::isinf(a[i]) || std::isinf(b[i])) {
      const bool same = (std::isnan(a[i]) && std::isnan(b[i])) || a[i] == b[i];
      if (!same) ++bad, worst = static_cast<int64_t>(i), worst_excess = INFINITY;
      continue;
    }
    const double diff = std::fabs(static_cast<double>(a[i]) - b[i]), allowed = tol.abs + tol.rel * std::fabs(b[i]);
    if (diff > allowed) {
      ++bad;
      if (diff - allowed > worst_excess || worst < 0) worst_excess = diff - allowed, worst = static_cast<int64_t>(i);
    }
  }
  CHECK_MESSAGE(bad == 0, kind << ": " << bad << " of " << a.size() << " elements of " << cpu.shape()
                               << " differ beyond the tolerance; worst at flat index " << worst << ": cuda "
                               << (worst >= 0 ? a[worst] : 0.f) << ", cpu " << (worst >= 0 ? b[worst] : 0.f));
}

// The same computation on both devices: f receives the inputs moved to each device.
template <class F>
void check_op(const std::vector<Tensor>& inputs, F&& f, const std::string& kind) {
  std::vector<Tensor> on_gpu;
  for (const Tensor& t : inputs) on_gpu.push_back(t.to(kGpu));
  check_close(f(on_gpu), f(inputs), kind);
}

}  // namespace

TEST_SUITE("cuda") {
  TEST_CASE("a CUDA build loads cuBLAS on first use of a GPU, and the library has every function it calls") {
    if (!cuda::is_built()) SKIP_TEST("this build has no CUDA backend");
    // Without a GPU nothing here uses one: the CPU work of this test must not have loaded cuBLAS.
    const Tensor x = Tensor::ones({4, 4});
    (void)matmul(x, x).to_vector();
    if (!cuda::is_available()) CHECK_FALSE(cuda::blas_loaded());
    // Loading it (dlopen + every symbol the backend resolves) works with or without a device.
    const std::string path = cuda::blas_library();
    MESSAGE("cuBLAS: " << path);
    CHECK(path.find("libcublas.so.") != std::string::npos);
    CHECK(cuda::blas_loaded());
  }

  TEST_CASE("tensors move between host and device exactly, and ops refuse mixed devices") {
    REQUIRE_GPU();
    MESSAGE("device: " << cuda::device_name(0));
    const Tensor x = random({3, 5}, 1);
    const Tensor g = x.to(kGpu);
    CHECK(g.device() == kGpu);
    CHECK(g.to(kCpu).to_vector() == x.to_vector());
    CHECK(g.to(kGpu).shares_storage(g));  // already there: the same tensor
    const Tensor ints = Tensor::from_vector({-3, 0, 7, 2147483647}, {4});
    CHECK(ints.to(kGpu).to_int_vector() == ints.to_int_vector());
    CHECK(Tensor::zeros({2, 3}, {.device = kGpu}).to_vector() == std::vector<float>(6, 0.f));
    CHECK(Tensor::full({4}, 2.5f, {.device = kGpu}).to_vector() == std::vector<float>(4, 2.5f));
    CHECK(Tensor::arange(5, {.dtype = DType::int32, .device = kGpu}).to_int_vector() ==
          std::vector<int32_t>{0, 1, 2, 3, 4});
    CHECK(Tensor::empty({0, 3}, {.device = kGpu}).to(kCpu).numel() == 0);
    CHECK(sum(g).item() == doctest::Approx(sum(x).item()).epsilon(1e-6));

    // A large upload goes through the pinned staging buffers in several chunks.
    const Tensor big = random({3, 1000, 1000}, 2);
    CHECK(big.to(kGpu).to(kCpu).to_vector() == big.to_vector());

    // copy_ across devices, and into a strided view on the device.
    const Tensor dst = Tensor::zeros({5, 3}, {.device = kGpu});
    dst.transpose(0, 1).copy_(x);
    CHECK(dst.transpose(0, 1).contiguous().to(kCpu).to_vector() == x.to_vector());

    const std::string mixed = error_of([&] { (void)(g + x); });
    CHECK(mixed.find("cuda:0") != std::string::npos);
    CHECK(mixed.find("cpu") != std::string::npos);
    CHECK(error_of([&] { (void)matmul(g, x.transpose(0, 1)); }).find("different devices") != std::string::npos);
  }

  TEST_CASE("gradients flow back across a device move") {
    REQUIRE_GPU();
    Tensor x = random({4, 3}, 3);
    x.set_requires_grad(true);
    const Tensor loss = sum(square(x.to(kGpu)) * 3.f);
    CHECK(loss.device() == kGpu);
    loss.backward();
    REQUIRE(x.grad().defined());
    CHECK(x.grad().device() == kCpu);
    const std::vector<float> v = x.to_vector(), g = x.grad().to_vector();
    for (size_t i = 0; i < v.size(); ++i) CHECK(g[i] == doctest::Approx(6.f * v[i]).epsilon(1e-6));
  }

  TEST_CASE("strided copies, views, fills, casts and row gathers match the CPU exactly") {
    REQUIRE_GPU();
    const Tensor x = random({4, 5, 6}, 4);
    check_op(
        {x}, [](const auto& t) { return t[0].transpose(0, 2).contiguous(); }, "exact");
    check_op(
        {x},
        [](const auto& t) {
          return t[0].permute({1, 2, 0}).contiguous();
        },
        "exact");
    check_op(
        {x}, [](const auto& t) { return t[0].slice(1, 1, 5, 2).slice(2, -4, -1).contiguous(); }, "exact");
    check_op(
        {x},
        [](const auto& t) {
          return t[0].reshape({20, 6}).transpose(0, 1).reshape({-1});
        },
        "exact");
    check_op(
        {random({1, 6}, 5)},
        [](const auto& t) {
          return dispatch::broadcast_to(t[0], {4, 6}, "test");
        },
        "exact");
    check_op(
        {random({3, 4}, 6, -1e6f, 1e6f)}, [](const auto& t) { return t[0].to(DType::int32); }, "exact");
    check_op(
        {Tensor::from_vector({NAN, 3e9f, -3e9f, -2.7f, 2.7f}, {5})},
        [](const auto& t) { return t[0].to(DType::int32); }, "exact");
    check_op(
        {Tensor::arange(-5, 5, 1, {.dtype = DType::int32})}, [](const auto& t) { return t[0].to(DType::float32); },
        "exact");
    const Tensor rows = Tensor::from_vector({3, 0, 3, 1}, {4});
    check_op(
        {x, rows}, [](const auto& t) { return dispatch::index_select_rows(t[0], t[1], "test"); }, "exact");
    check_op(
        {x},
        [](const auto& t) {
          const Tensor y = t[0].clone();
          y.slice(2, 0, 6, 3).fill_(7.f);
          return y;
        },
        "exact");
    const std::string bad_index = error_of([&] {
      dispatch::index_select_rows(x.to(kGpu), Tensor::from_vector({0, 9}, {2}).to(kGpu), "gather");
    });
    CHECK(bad_index == "gather: row index 9 at position 1 is out of range [0, 4)");
  }

  TEST_CASE("every unary op matches the CPU") {
    REQUIRE_GPU();
    const Tensor x = random({7, 300}, 7, -6.f, 6.f), positive = random({7, 300}, 8, 1e-3f, 50.f);
    check_op(
        {x}, [](const auto& t) { return -t[0]; }, "exact");
    check_op(
        {x}, [](const auto& t) { return relu(t[0]); }, "exact");
    check_op(
        {x}, [](const auto& t) { return square(t[0]); }, "exact");
    check_op(
        {x}, [](const auto& t) { return exp(t[0]); }, "ulp");
    check_op(
        {x}, [](const auto& t) { return sigmoid(t[0]); }, "ulp");
    check_op(
        {x}, [](const auto& t) { return tanh(t[0]); }, "ulp");
    check_op(
        {positive}, [](const auto& t) { return log(t[0]); }, "ulp");
    check_op(
        {positive}, [](const auto& t) { return sqrt(t[0]); }, "ulp");
    // NaN and infinities go through as on the CPU.
    const Tensor special = Tensor::from_vector({NAN, INFINITY, -INFINITY, 0.f, -0.f, 100.f, -100.f}, {7});
    check_op(
        {special}, [](const auto& t) { return relu(t[0]); }, "exact");
    check_op(
        {special}, [](const auto& t) { return sigmoid(t[0]); }, "ulp");
    check_op(
        {special}, [](const auto& t) { return exp(t[0]); }, "ulp");
  }

  TEST_CASE("binary ops with broadcasting and strided operands match the CPU") {
    REQUIRE_GPU();
    const Tensor a = random({4, 5, 6}, 9), b = random({5, 1}, 10), c = random({1, 6}, 11), s = random({}, 12);
    const Tensor nonzero = random({4, 5, 6}, 13, 0.5f, 3.f);
    check_op(
        {a, b}, [](const auto& t) { return t[0] + t[1]; }, "exact");
    check_op(
        {a, c}, [](const auto& t) { return t[0] - t[1]; }, "exact");
    check_op(
        {a, s}, [](const auto& t) { return t[0] * t[1]; }, "exact");
    check_op(
        {s, a}, [](const auto& t) { return t[0] * t[1]; }, "exact");
    check_op(
        {a, nonzero}, [](const auto& t) { return t[0] / t[1]; }, "ulp");
    check_op(
        {a, b}, [](const auto& t) { return t[0].transpose(0, 2) * t[1].unsqueeze(0); }, "exact");
    check_op(
        {a}, [](const auto& t) { return t[0] * 2.5f + 1.f; }, "exact");
    check_op(
        {a, a},
        [](const auto& t) {  // in place, with the output also an operand
          const Tensor y = t[0].clone();
          NoGradGuard no_grad;
          y.add_(t[1].slice(2, 0, 6), 0.5f);
          y.mul_(3.f);
          return y;
        },
        "ulp");
    for (dispatch::BinaryOp op :
         {dispatch::BinaryOp::relu_backward, dispatch::BinaryOp::sigmoid_backward, dispatch::BinaryOp::tanh_backward})
      check_op(
          {random({3, 40}, 14, 0.f, 1.f), random({3, 40}, 15)},
          [op](const auto& t) { return dispatch::binary(op, t[0], t[1], "test"); }, "ulp");
  }

  TEST_CASE("reductions (sum, mean, max, argmax) match the CPU, on both kernel shapes, with NaN and ties") {
    REQUIRE_GPU();
    // Short runs (a thread per output) and long runs (a block per output, block_reduce).
    for (const Shape& shape : {Shape{4, 5, 6}, Shape{3, 5000}, Shape{5000, 3}, Shape{2, 3000, 2}, Shape{100000}}) {
      CAPTURE(shape);
      const Tensor x = random(shape, 16);
      check_op(
          {x}, [](const auto& t) { return sum(t[0]); }, "sum");
      check_op(
          {x}, [](const auto& t) { return mean(t[0]); }, "sum");
      check_op(
          {x}, [](const auto& t) { return max(t[0]); }, "exact");
      check_op(
          {x}, [](const auto& t) { return argmax(t[0]); }, "exact");
      for (int64_t d = 0; d < shape.size(); ++d) {
        check_op(
            {x}, [d](const auto& t) { return sum(t[0], d, true); }, "sum");
        check_op(
            {x}, [d](const auto& t) { return max(t[0], d); }, "exact");
        check_op(
            {x}, [d](const auto& t) { return argmax(t[0], d); }, "exact");
      }
    }
    // Ties go to the first index, NaN beats every number (the first NaN wins), -inf is a value.
    const Tensor special = Tensor::from_vector(
        {1.f, 3.f, 3.f, -INFINITY, 2.f, NAN, 5.f, NAN, -INFINITY, -INFINITY, -INFINITY, 0.f}, {3, 4});
    for (int64_t d : {0, 1}) {
      check_op(
          {special}, [d](const auto& t) { return max(t[0], d); }, "exact");
      check_op(
          {special}, [d](const auto& t) { return argmax(t[0], d); }, "exact");
    }
    std::vector<float> ties(4096, 1.f);
    ties[1000] = ties[3000] = 2.f;
    check_op(
        {Tensor::from_vector(ties, {1, 4096})}, [](const auto& t) { return argmax(t[0], 1); }, "exact");
    // Empty sums are 0.
    check_op(
        {Tensor::zeros({0, 3})}, [](const auto& t) { return sum(t[0], 0); }, "exact");
    check_op(
        {Tensor::zeros({0})}, [](const auto& t) { return sum(t[0]); }, "exact");
  }

  TEST_CASE("sum_squares and dot match the CPU") {
    REQUIRE_GPU();
    for (int64_t n : {1, 255, 256, 257, 100000, 3000001}) {
      CAPTURE(n);
      const Tensor a = random({n}, 17), b = random({n}, 18);
      const double cpu = dispatch::dot(a, b, "dot"), gpu = dispatch::dot(a.to(kGpu), b.to(kGpu), "dot");
      CHECK(gpu == doctest::Approx(cpu).epsilon(1e-9).scale(1e-9 * n));
      const double cpu_sq = dispatch::sum_squares(a, "sq"), gpu_sq = dispatch::sum_squares(a.to(kGpu), "sq");
      CHECK(gpu_sq == doctest::Approx(cpu_sq).epsilon(1e-9));
    }
    CHECK(std::isnan(dispatch::sum_squares(Tensor::from_vector({1.f, NAN}, {2}).to(kGpu), "sq")));
    CHECK(std::isinf(dispatch::sum_squares(Tensor::from_vector({1.f, INFINITY}, {2}).to(kGpu), "sq")));
  }

  TEST_CASE("softmax and log_softmax, forward and backward, along every dim") {
    REQUIRE_GPU();
    const Tensor x = random({6, 10, 4}, 19, -20.f, 20.f), dy = random({6, 10, 4}, 20);
    for (int64_t d = 0; d < 3; ++d) {
      CAPTURE(d);
      check_op(
          {x}, [d](const auto& t) { return softmax(t[0], d); }, "sum");
      check_op(
          {x}, [d](const auto& t) { return log_softmax(t[0], d); }, "sum");
      for (bool log : {false, true})
        check_op(
            {x, dy},
            [d, log](const auto& t) {
              return dispatch::softmax_backward(dispatch::softmax(t[0], d, log, "softmax"), t[1], d, log);
            },
            "sum");
    }
  }

  TEST_CASE("cross-entropy forward and backward") {
    REQUIRE_GPU();
    for (const auto& n_c_ : std::vector<std::pair<int64_t, int64_t>>{{64, 10}, {1000, 10}, {7, 1}, {3, 500}}) {
      const auto& n = std::get<0>(n_c_);
      const auto& c = std::get<1>(n_c_);
      CAPTURE(n);
      CAPTURE(c);
      const Tensor logits = random({n, c}, 21, -15.f, 15.f);
      std::vector<int32_t> labels(static_cast<size_t>(n));
      Generator gen(22);
      for (int32_t& l : labels) l = static_cast<int32_t>(gen.below(static_cast<uint64_t>(c)));
      const Tensor targets = Tensor::from_vector(labels, {n});
      check_op(
          {logits, targets}, [](const auto& t) { return nn::functional::cross_entropy(t[0], t[1]); }, "sum");
      check_op(
          {logits, targets},
          [](const auto& t) {
            Tensor z = t[0].detach();
            z.set_requires_grad(true);
            (nn::functional::cross_entropy(z, t[1]) * 3.f).backward();
            return z.grad();
          },
          "sum");
    }
    const std::string bad = error_of([] {
      nn::functional::cross_entropy(Tensor::zeros({2, 3}, {.device = kGpu}), Tensor::from_vector({0, 3}, {2}).to(kGpu));
    });
    CHECK(bad.find("target 3 at position 1 is out of range [0, 3)") != std::string::npos);
  }

  TEST_CASE("matmul through cuBLAS: every transpose combination, batched, odd sizes") {
    REQUIRE_GPU();
    for (const auto& m_k_n_ : std::vector<std::array<int64_t, 3>>{{1, 1, 1}, {7, 13, 5}, {64, 784, 256}, {33, 1, 17}}) {
      const auto& m = std::get<0>(m_k_n_);
      const auto& k = std::get<1>(m_k_n_);
      const auto& n = std::get<2>(m_k_n_);
      CAPTURE(m);
      CAPTURE(k);
      CAPTURE(n);
      const Tensor a = random({m, k}, 23), b = random({k, n}, 24), at = random({k, m}, 25), bt = random({n, k}, 26);
      check_op(
          {a, b}, [](const auto& t) { return matmul(t[0], t[1]); }, "gemm");
      check_op(
          {at, b}, [](const auto& t) { return matmul(t[0].transpose(0, 1), t[1]); }, "gemm");
      check_op(
          {a, bt}, [](const auto& t) { return matmul(t[0], t[1].transpose(0, 1)); }, "gemm");
      check_op(
          {at, bt}, [](const auto& t) { return matmul(t[0].transpose(0, 1), t[1].transpose(0, 1)); }, "gemm");
    }
    // Batched, with a 2-D operand shared by every batch, and a stepped slice (copied first).
    const Tensor a3 = random({5, 6, 7}, 27), b2 = random({7, 4}, 28), b3 = random({5, 4, 7}, 29);
    check_op(
        {a3, b2}, [](const auto& t) { return matmul(t[0], t[1]); }, "gemm");
    check_op(
        {b2, a3}, [](const auto& t) { return matmul(t[0].transpose(0, 1), t[1].transpose(1, 2)); }, "gemm");
    check_op(
        {a3, b3}, [](const auto& t) { return matmul(t[0], t[1].transpose(1, 2)); }, "gemm");
    check_op(
        {random({8, 9}, 30), random({9, 3}, 31)}, [](const auto& t) { return matmul(t[0].slice(0, 0, 8, 2), t[1]); },
        "gemm");
    check_op(
        {random({4, 0}, 32), random({0, 3}, 33)}, [](const auto& t) { return matmul(t[0], t[1]); }, "exact");
  }

  TEST_CASE("the fused Linear epilogue (bias, ReLU) and its backward") {
    REQUIRE_GPU();
    using nn::functional::Activation;
    for (const Activation act : {Activation::none, Activation::relu}) {
      for (const int64_t rows : {1, 64, 513}) {
        CAPTURE(rows);
        const Tensor x = random({rows, 37}, 34), w = random({70, 37}, 35, -0.3f, 0.3f), b = random({70}, 36);
        const Tensor dy = random({rows, 70}, 37);
        check_op(
            {x, w, b}, [act](const auto& t) { return nn::functional::linear(t[0], t[1], t[2], act); }, "gemm");
        for (int which = 0; which < 3; ++which) {
          check_op(
              {x, w, b, dy},
              [act, which](const auto& t) {
                std::vector<Tensor> leaves = {t[0].detach(), t[1].detach(), t[2].detach()};
                for (Tensor& l : leaves) l.set_requires_grad(true);
                sum(nn::functional::linear(leaves[0], leaves[1], leaves[2], act) * t[3]).backward();
                return leaves[static_cast<size_t>(which)].grad();
              },
              "gemm");
        }
      }
    }
  }

  TEST_CASE("gradients of a composite expression match the CPU") {
    REQUIRE_GPU();
    const Tensor x = random({5, 8}, 38), w = random({8, 8}, 39), positive = random({5, 8}, 40, 0.5f, 2.f);
    for (int which = 0; which < 3; ++which) {
      check_op(
          {x, w, positive},
          [which](const auto& t) {
            std::vector<Tensor> leaves = {t[0].detach(), t[1].detach(), t[2].detach()};
            for (Tensor& l : leaves) l.set_requires_grad(true);
            const Tensor h = tanh(matmul(leaves[0], leaves[1])) + sigmoid(leaves[0]) * exp(-leaves[0]);
            const Tensor y = log(leaves[2]) * h / sqrt(leaves[2]) + relu(h).transpose(0, 1).transpose(0, 1);
            (sum(log_softmax(y, 1) * softmax(h, 0)) + mean(max(y, 1)) + sum(sum(square(y), 0))).backward();
            return leaves[static_cast<size_t>(which)].grad();
          },
          "chain");
    }
  }

  TEST_CASE(
      "optimizers (SGD family, Adam, AdamW, RMSprop, Adagrad) follow the CPU's trajectory, also over more than 16 "
      "tensors") {
    REQUIRE_GPU();
    struct Setting {
      std::string name;
      optim::OptimizerConfig config;
    };
    const std::vector<Setting> settings = {
        {"sgd", {.lr = 0.05f}},
        {"sgd", {.lr = 0.05f, .weight_decay = 0.01f}},
        {"momentum", {.lr = 0.05f, .momentum = 0.9f, .dampening = 0.1f, .weight_decay = 0.01f}},
        {"nesterov", {.lr = 0.05f, .momentum = 0.9f, .weight_decay = 0.01f}},
        {"nesterov", {.lr = 0.05f, .momentum = 0.9f, .form = "sutskever"}},
        {"nesterov", {.lr = 0.05f, .momentum = 0.9f, .form = "lookahead"}},
        {"adam", {.lr = 0.01f, .weight_decay = 0.01f}},
        {"adam", {.lr = 0.01f, .options = {{"amsgrad", "true"}, {"betas", "0.8,0.99"}}}},
        {"adamw", {.lr = 0.01f, .options = {{"amsgrad", "true"}}}},
        {"rmsprop", {.lr = 0.005f, .weight_decay = 0.01f}},
        {"rmsprop", {.lr = 0.002f, .options = {{"momentum", "0.8"}, {"centered", "true"}}}},
        {"adagrad",
         {.lr = 0.05f, .weight_decay = 0.01f, .options = {{"lr_decay", "0.01"}, {"initial_accumulator_value", "0.1"}}}},
    };
    for (const Setting& s : settings) {
      CAPTURE(s.name);
      CAPTURE(s.config.form);
      CAPTURE(s.config.weight_decay);
      // 20 tensors of assorted sizes (the fused CUDA step takes 16 per launch), one of them empty.
      std::vector<Tensor> start;
      for (int i = 0; i < 20; ++i) start.push_back(random({i == 7 ? 0 : 1 + 37 * i % 300}, 41 + i));
      const auto run = [&](Device device) {
        std::vector<Tensor> params;
        for (const Tensor& p : start) params.push_back(p.to(device).clone().detach().set_requires_grad(true));
        const auto opt = optim::make_optimizer(s.name, params, s.config);
        for (int step = 0; step < 25; ++step)
          opt->step([&] {
            opt->zero_grad();
            Tensor loss = Tensor::zeros({}, {.device = device});
            // Bounded below and smooth: a quadratic bowl with a sigmoid's bump, so no run diverges.
            for (const Tensor& p : params) loss = loss + sum(square(p) * 0.5f + sigmoid(p * 3.f));
            loss.backward();
            return loss;
          });
        return params;
      };
      const std::vector<Tensor> gpu = run(kGpu), cpu = run(kCpu);
      for (size_t i = 0; i < gpu.size(); ++i) check_close(gpu[i], cpu[i], "steps");
    }
  }

  TEST_CASE("errors: a device that does not exist, and an allocation that cannot succeed") {
    REQUIRE_GPU();
    const int missing = cuda::device_count();
    const std::string no_device = error_of([&] { Tensor::zeros({2}, {.device = Device::cuda(missing)}); });
    CHECK(no_device.find("cuda:" + std::to_string(missing) + " is not available") != std::string::npos);
    const std::string oom = error_of([] { Tensor::empty({int64_t{1} << 48}, {.device = kGpu}); });
    CHECK(oom.find("out of memory") != std::string::npos);
    CHECK(oom.find("cuda:0") != std::string::npos);
    // The device still works afterwards.
    CHECK(sum(Tensor::ones({3}, {.device = kGpu})).item() == 3.f);
  }

  TEST_CASE("Module::to moves parameters in place, and GPU weights saved load on the CPU") {
    REQUIRE_GPU();
    Generator gen(42);
    const auto model = nn::mlp(20, {16}, 4, gen);
    const std::vector<Tensor> held = model->parameters();
    const std::vector<float> before = held[0].to_vector();
    model->to(kGpu);
    for (const Tensor& p : held) {
      CHECK(p.device() == kGpu);
      CHECK(p.requires_grad());
    }
    CHECK(held[0].to_vector() == before);
    const Tensor x = random({3, 20}, 43);
    const Tensor y_gpu = (*model)(x.to(kGpu));
    CHECK(y_gpu.device() == kGpu);

    const std::string path = (std::filesystem::temp_directory_path() / "minidl_test_cuda.safetensors").string();
    data::save_safetensors(path, model->named_parameters(), {});
    const data::SafetensorsFile file = data::load_safetensors(path);
    std::filesystem::remove(path);
    Generator other(7);
    const auto cpu_model = nn::mlp(20, {16}, 4, other);
    const NamedTensors own = cpu_model->named_parameters();
    NoGradGuard no_grad;
    REQUIRE(file.tensors.size() == own.size());
    for (const auto& [name, saved] : file.tensors) {
      CHECK(saved.device() == kCpu);
      for (const auto& [own_name, p] : own)
        if (own_name == name) p.copy_(saved);
    }
    check_close(y_gpu, (*cpu_model)(x), "gemm");
    model->to(kCpu);
    CHECK(held[0].device() == kCpu);
    CHECK(held[0].to_vector() == before);
  }

  TEST_CASE("training a few hundred steps gives the CPU's losses, and no cudaMalloc per step after epoch 1") {
    REQUIRE_GPU();
    // A learnable synthetic problem: labels are the argmax of a fixed random projection.
    const int64_t n = 2000, features = 784, classes = 10;
    const Tensor inputs = random({n, features}, 44, -1.f, 1.f);
    const Tensor labels = argmax(matmul(inputs, random({features, classes}, 45)), 1);
    const data::TensorDataset dataset(inputs, labels);

    struct Run {
      std::vector<float> losses;
      std::vector<int64_t> mallocs_after_epoch, allocator_misses_after_epoch;
      std::vector<Tensor> params;
    };
    const auto train = [&](Device device) {
      Generator init(46);
      const auto model = nn::mlp(features, {128}, classes, init);
      model->to(device);
      const auto opt = optim::make_optimizer("nesterov", model->parameters(), {.lr = 0.01f, .momentum = 0.9f});
      data::DataLoader loader(dataset, {.batch_size = 64, .shuffle = true, .seed = 47, .device = device});
      data::DataLoader eval_loader(dataset, {.batch_size = 500, .device = device});
      Run run;
      std::vector<double> squares;
      const std::vector<Tensor> params = model->parameters();
      for (int epoch = 0; epoch < 3; ++epoch) {
        for (const data::Batch& batch : loader) {  // 32 steps per epoch, the last of 16 examples
          opt->step([&] {
            opt->zero_grad();
            Tensor loss = nn::functional::cross_entropy((*model)(batch.inputs), batch.targets);
            run.losses.push_back(loss.item());
            loss.backward();
            nn::grad_squared_norms(params, squares);  // what the trainer's non-finite check runs
            return loss;
          });
        }
        NoGradGuard no_grad;
        for (const data::Batch& batch : eval_loader) (void)argmax((*model)(batch.inputs), 1).to_int_vector();
        run.mallocs_after_epoch.push_back(cuda::malloc_calls());
        run.allocator_misses_after_epoch.push_back(memory_stats(kGpu).backend_allocations);
      }
      for (int extra = 0; extra < 6; ++extra)  // to a few hundred steps
        for (const data::Batch& batch : loader)
          opt->step([&] {
            opt->zero_grad();
            Tensor loss = nn::functional::cross_entropy((*model)(batch.inputs), batch.targets);
            run.losses.push_back(loss.item());
            loss.backward();
            return loss;
          });
      run.params = params;
      return run;
    };
    const Run gpu = train(kGpu), cpu = train(kCpu);
    REQUIRE(gpu.losses.size() == cpu.losses.size());
    MESSAGE(gpu.losses.size() << " steps; loss first " << cpu.losses.front() << " (cpu) " << gpu.losses.front()
                              << " (cuda), last " << cpu.losses.back() << " (cpu) " << gpu.losses.back() << " (cuda)");
    CHECK(gpu.losses.size() >= 250);
    double worst = 0;
    for (size_t i = 0; i < gpu.losses.size(); ++i)
      worst = std::max(worst, std::fabs(static_cast<double>(gpu.losses[i]) - cpu.losses[i]) / std::fabs(cpu.losses[i]));
    MESSAGE("largest relative difference of a step's loss, cuda vs cpu: " << worst);
    CHECK(cpu.losses.back() < 0.5f * cpu.losses.front());
    check_close(Tensor::from_vector(gpu.losses, {static_cast<int64_t>(gpu.losses.size())}).to(kGpu),
                Tensor::from_vector(cpu.losses, {static_cast<int64_t>(cpu.losses.size())}), "training");
    for (size_t i = 0; i < gpu.params.size(); ++i) check_close(gpu.params[i], cpu.params[i], "training");

    MESSAGE("cudaMalloc calls after epochs 1, 2, 3: "
            << gpu.mallocs_after_epoch[0] << ", " << gpu.mallocs_after_epoch[1] << ", " << gpu.mallocs_after_epoch[2]);
    CHECK(gpu.mallocs_after_epoch[2] == gpu.mallocs_after_epoch[0]);
    CHECK(gpu.allocator_misses_after_epoch[2] == gpu.allocator_misses_after_epoch[0]);
  }

  TEST_CASE("conv2d forward and backward match the CPU over strides, paddings, dilations and groups") {
    REQUIRE_GPU();
    namespace F = nn::functional;
    struct Case {
      Shape x, w;
      F::Conv2dOptions o;
    };
    const Case cases[] = {
        {{4, 3, 13, 11}, {8, 3, 3, 3}, {.padding = 1}},
        {{2, 4, 12, 9}, {6, 2, 3, 2}, {.stride = 2, .padding = 1, .groups = 2}},
        {{3, 2, 15, 15}, {4, 2, 3, 3}, {.padding = 2, .dilation = 2}},
        {{1, 6, 7, 8}, {6, 1, 3, 3}, {.stride = 2, .groups = 6}},
        {{64, 32, 14, 14}, {64, 32, 3, 3}, {.padding = 1}},  // the default CNN's second convolution
    };
    uint64_t seed = 100;
    for (const Case& c : cases) {
      CAPTURE(c.x);
      CAPTURE(c.w);
      const Tensor x = random(c.x, seed++), w = random(c.w, seed++, -0.5f, 0.5f), b = random({c.w[0]}, seed++);
      const Tensor dy = random(F::conv2d(x, w, b, c.o).shape(), seed++);
      for (const F::Activation act : {F::Activation::none, F::Activation::relu}) {
        const auto grads = [&](const std::vector<Tensor>& t) {
          std::vector<Tensor> in = {t[0].detach().set_requires_grad(), t[1].detach().set_requires_grad(),
                                    t[2].detach().set_requires_grad()};
          const Tensor y = F::conv2d(in[0], in[1], in[2], c.o, act);
          y.backward(t[3]);
          return std::vector<Tensor>{y, in[0].grad(), in[1].grad(), in[2].grad()};
        };
        std::vector<Tensor> on_gpu;
        for (const Tensor& t : {x, w, b, dy}) on_gpu.push_back(t.to(kGpu));
        const auto g = grads(on_gpu), h = grads({x, w, b, dy});
        for (size_t i = 0; i < g.size(); ++i) check_close(g[i], h[i], "gemm");
      }
    }
  }

  TEST_CASE("pooling, batch norm and dropout match the CPU") {
    REQUIRE_GPU();
    namespace F = nn::functional;
    const Tensor x = random({4, 3, 11, 10}, 200);
    for (const F::Pool2dOptions o : {F::Pool2dOptions{2}, F::Pool2dOptions{3, 2, 1}, F::Pool2dOptions{2, 1, 1}}) {
      CAPTURE(o.kernel_size);
      check_op(
          {x}, [o](const auto& t) { return F::max_pool2d(t[0], o); }, "exact");
      check_op(
          {x}, [o](const auto& t) { return F::avg_pool2d(t[0], o); }, "sum");
      for (const bool max : {true, false}) {
        const auto dx = [&](const std::vector<Tensor>& t) {
          const Tensor in = t[0].detach().set_requires_grad();
          const Tensor y = max ? F::max_pool2d(in, o) : F::avg_pool2d(in, o);
          y.backward(random(y.shape(), 201).to(in.device()));
          return in.grad();
        };
        check_op({x}, dx, max ? "exact" : "sum");
      }
    }
    // Batch norm: three training steps, then evaluation, over [N, C] and [N, C, H, W].
    for (const Shape& shape : {Shape{64, 16}, Shape{8, 4, 9, 7}}) {
      const int64_t c = shape[1];
      const Tensor input = random(shape, 202), w = random({c}, 203), b = random({c}, 204), dy = random(shape, 205);
      const auto run = [&](Device d) {
        Tensor mean = Tensor::zeros({c}, {.device = d}), var = Tensor::ones({c}, {.device = d});
        std::vector<Tensor> out;
        for (int step = 0; step < 3; ++step) {
          const Tensor xs = (input * static_cast<float>(step + 1)).to(d).detach().set_requires_grad();
          const Tensor ws = w.to(d).detach().set_requires_grad(), bs = b.to(d).detach().set_requires_grad();
          const Tensor y = F::batch_norm(xs, mean, var, ws, bs, true);
          y.backward(dy.to(d));
          out.insert(out.end(), {y, xs.grad(), ws.grad(), bs.grad()});
        }
        const Tensor xe = input.to(d).detach().set_requires_grad();
        const Tensor ye = F::batch_norm(xe, mean, var, w.to(d), b.to(d), false);
        ye.backward(dy.to(d));
        out.insert(out.end(), {mean, var, ye, xe.grad()});
        return out;
      };
      const auto g = run(kGpu), h = run(kCpu);
      for (size_t i = 0; i < g.size(); ++i) check_close(g[i], h[i], "chain");
    }
    // The fused convolution + ReLU + max pooling, and its backward.
    {
      const Tensor xi = random({5, 3, 12, 12}, 210), wi = random({8, 3, 3, 3}, 211, -0.5f, 0.5f), bi = random({8}, 212);
      const auto fused = [](const std::vector<Tensor>& t) {
        std::vector<Tensor> in = {t[0].detach().set_requires_grad(), t[1].detach().set_requires_grad(),
                                  t[2].detach().set_requires_grad()};
        const Tensor y = F::conv2d_max_pool2d(in[0], in[1], in[2], {.padding = 1}, F::Activation::relu, {2});
        y.backward(random(y.shape(), 213).to(y.device()));
        return std::vector<Tensor>{y, in[0].grad(), in[1].grad(), in[2].grad()};
      };
      const auto g = fused({xi.to(kGpu), wi.to(kGpu), bi.to(kGpu)}), h = fused({xi, wi, bi});
      for (size_t i = 0; i < g.size(); ++i) check_close(g[i], h[i], "gemm");
    }
    // Dropout draws the same mask on both devices: its counter-based generator has no device state.
    Generator on_gpu(9), on_cpu(9);
    check_close(F::dropout(Tensor::ones({300, 70}, {.device = kGpu}), 0.3f, true, on_gpu),
                F::dropout(Tensor::ones({300, 70}), 0.3f, true, on_cpu), "exact");
  }

  TEST_CASE("a CNN trains like the CPU's, and makes no cudaMalloc per step after epoch 1") {
    REQUIRE_GPU();
    const int64_t n = 512;
    const Tensor inputs = random({n, 1, 28, 28}, 300, 0.f, 1.f);
    const Tensor labels = argmax(matmul(inputs.reshape({n, 784}), random({784, 10}, 301)), 1);
    const data::TensorDataset dataset(inputs, labels);
    const std::string spec =
        "conv(8,3,padding=1) batchnorm relu maxpool(2) conv(16,3,padding=1) relu avgpool(2) flatten dropout(0.25) "
        "linear(10)";
    struct Run {
      std::vector<float> losses;
      std::vector<int64_t> mallocs;
    };
    const auto train = [&](Device device) {
      Generator init(302), noise(303);
      const auto model = nn::build_model(spec, {1, 28, 28}, init, &noise);
      model->to(device);
      const auto opt = optim::make_optimizer("nesterov", model->parameters(), {.lr = 0.02f, .momentum = 0.9f});
      data::DataLoader loader(dataset, {.batch_size = 64, .shuffle = true, .seed = 304, .device = device});
      Run run;
      for (int epoch = 0; epoch < 3; ++epoch) {
        for (const data::Batch& batch : loader) {
          opt->zero_grad();
          Tensor loss = nn::functional::cross_entropy((*model)(batch.inputs), batch.targets);
          run.losses.push_back(loss.item());
          loss.backward();
          opt->step();
        }
        run.mallocs.push_back(cuda::malloc_calls());
      }
      return run;
    };
    const Run gpu = train(kGpu), cpu = train(kCpu);
    check_close(Tensor::from_vector(gpu.losses, {static_cast<int64_t>(gpu.losses.size())}).to(kGpu),
                Tensor::from_vector(cpu.losses, {static_cast<int64_t>(cpu.losses.size())}), "training");
    MESSAGE("cudaMalloc calls after epochs 1, 2, 3: " << gpu.mallocs[0] << ", " << gpu.mallocs[1] << ", "
                                                      << gpu.mallocs[2]);
    CHECK(gpu.mallocs[2] == gpu.mallocs[0]);
  }
  // Issue 26's ops on PyTorch's reference inputs (tests/ops_table.h): the GPU's values and input
  // gradients against the CPU's. The kernels run the same MINIDL_HD row math as the CPU
  // (kernels/{elementwise,index,layer_norm,attention}_math.h), so only expf/erfc-style ulp
  // differences, FMA contraction and cuBLAS's summation order separate them: "chain" and, where a
  // GEMM is involved, "gemm".
  TEST_CASE("the language-model ops (issue 26) match the CPU in value and gradient") {
    REQUIRE_GPU();
    for (const auto& c : ops_reference::cases) {
      CAPTURE(c.name);
      const std::string kind = c.name.rfind("matmul", 0) == 0 ? "gemm" : "chain";
      const auto run = [&](Device device) {
        std::vector<Tensor> in;
        for (const Tensor& t : ops_table::inputs_of(c)) {
          Tensor moved = t.detach().to(device);
          if (t.requires_grad()) moved.set_requires_grad(true);
          in.push_back(moved);
        }
        const Tensor y = ops_table::ops().at(c.name)(in);
        y.backward(ops_table::make(c.direction, false).to(device));
        std::vector<Tensor> out{y.detach()};
        for (const Tensor& t : in)
          if (t.requires_grad()) out.push_back(t.grad());
        return out;
      };
      const auto gpu = run(kGpu), cpu = run(kCpu);
      REQUIRE(gpu.size() == cpu.size());
      for (size_t i = 0; i < gpu.size(); ++i) check_close(gpu[i], cpu[i], kind);
    }
  }

  TEST_CASE("the GPU's scatter-add (embedding, gather) and attention backward repeat bit for bit") {
    REQUIRE_GPU();
    Tensor w = random({50, 32}, 61).to(kGpu).set_requires_grad();
    const Tensor idx = Tensor::from_vector(std::vector<int32_t>(400, 7), {20, 20}).to(kGpu);
    Tensor q = random({2, 4, 33, 16}, 62).to(kGpu).set_requires_grad();
    const auto grads = [&] {
      w.set_grad(Tensor{});
      q.set_grad(Tensor{});
      sum(square(nn::functional::embedding(idx, w))).backward();
      sum(square(nn::functional::scaled_dot_product_attention(q, q, q, true))).backward();
      return std::pair{w.grad().to_vector(), q.grad().to_vector()};
    };
    CHECK(grads() == grads());
  }
}
