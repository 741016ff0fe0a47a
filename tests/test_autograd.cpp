// autograd: every differentiable op passes gradcheck (broadcasting on either side, non-contiguous
// inputs, every reduction dim with and without keepdim), the engine's accumulation and release
// rules, its errors, and a two-layer network against PyTorch's gradients.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>

#include <minidl/minidl.h>
#include "autograd/node.h"
#include "core/dispatch.h"
#include "core/tensor_impl.h"
#include "reference/two_layer_net.h"
#include "testing.h"

using namespace minidl;
using autograd::gradcheck;

namespace {

// A leaf of `shape` with values in ±[lo, hi] (never near 0 when lo > 0), requiring grad.
Tensor leaf(const Shape& shape, uint64_t seed, float lo = 0.2f, float hi = 1.5f) {
  Generator gen(seed);
  std::vector<float> v(static_cast<size_t>(shape.numel()));
  for (float& x : v) x = (gen.uniform() < 0.5f ? -1.f : 1.f) * (lo + (hi - lo) * gen.uniform());
  return Tensor::from_vector(v, shape, true);
}

Tensor positive_leaf(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  return Tensor::uniform(shape, 0.5f, 2.f, gen).set_requires_grad();
}

// A non-contiguous leaf: the transpose of a contiguous [cols, rows] tensor.
Tensor transposed_leaf(int64_t rows, int64_t cols, uint64_t seed) {
  return leaf({cols, rows}, seed).detach().transpose(0, 1).set_requires_grad();
}

// A non-contiguous leaf: every other column of a wider tensor.
Tensor sliced_leaf(int64_t rows, int64_t cols, uint64_t seed) {
  return leaf({rows, 2 * cols}, seed).detach().slice(1, 0, 2 * cols, 2).set_requires_grad();
}

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

void expect_gradcheck(const Fn& fn, const std::vector<Tensor>& inputs) {
  const auto r = gradcheck(fn, inputs);
  INFO(r.report);
  CHECK(r.ok);
}

}  // namespace

TEST_SUITE("autograd") {
  TEST_CASE("gradcheck: binary ops, broadcasting either operand") {
    using Op = Tensor (*)(const Tensor&, const Tensor&);
    const std::pair<const char*, Op> ops[] = {{"add", add}, {"sub", sub}, {"mul", mul}, {"div", div}};
    const Shape pairs[][2] = {{{3, 4}, {3, 4}},    {{3, 4}, {4}}, {{4}, {3, 4}}, {{3, 1}, {1, 4}},
                              {{2, 3, 4}, {3, 1}}, {{}, {3, 4}},  {{3, 4}, {}}};
    for (const auto& name_op_ : ops)
      for (const auto& p : pairs) {
        const auto& name = name_op_.first;
        const auto& op = name_op_.second;
        CAPTURE(name);
        CAPTURE(p[0]);
        CAPTURE(p[1]);
        // div's denominator stays away from 0
        const Tensor b = std::string(name) == "div" ? positive_leaf(p[1], 2) : leaf(p[1], 2);
        expect_gradcheck([op](const auto& in) { return op(in[0], in[1]); }, {leaf(p[0], 1), b});
      }
  }

  TEST_CASE("gradcheck: binary ops on transposed and sliced inputs") {
    expect_gradcheck([](const auto& in) { return in[0] * in[1] + in[0]; },
                     {transposed_leaf(3, 4, 1), sliced_leaf(3, 4, 2)});
    expect_gradcheck([](const auto& in) { return in[0] / in[1]; },
                     {sliced_leaf(2, 5, 3), positive_leaf({5, 2}, 4).detach().transpose(0, 1).set_requires_grad()});
  }

  TEST_CASE("gradcheck: operators with float operands") {
    expect_gradcheck([](const auto& in) { return 2.f * in[0] - 1.f + in[0] / 4.f; }, {leaf({3}, 1)});
    expect_gradcheck([](const auto& in) { return 1.f / in[0] - (3.f - in[0]) * 0.5f; }, {positive_leaf({3}, 2)});
  }

  TEST_CASE("gradcheck: unary ops") {
    const std::pair<const char*, Tensor (*)(const Tensor&)> ops[] = {
        {"neg", neg}, {"exp", exp}, {"relu", relu}, {"sigmoid", sigmoid}, {"tanh", tanh}, {"square", square}};
    for (const auto& name_op_ : ops) {
      const auto& name = std::get<0>(name_op_);
      const auto& op = std::get<1>(name_op_);
      CAPTURE(name);
      expect_gradcheck([op](const auto& in) { return op(in[0]); }, {leaf({3, 4}, 5)});
      expect_gradcheck([op](const auto& in) { return op(in[0]); }, {transposed_leaf(3, 4, 6)});
    }
    expect_gradcheck([](const auto& in) { return log(in[0]); }, {positive_leaf({3, 4}, 7)});
    expect_gradcheck([](const auto& in) { return sqrt(in[0]); }, {positive_leaf({3, 4}, 8)});
    expect_gradcheck([](const auto& in) { return -in[0]; }, {sliced_leaf(3, 3, 9)});
  }

  TEST_CASE("gradcheck: sum and mean over all elements and over each dim, with and without keepdim") {
    const Tensor inputs[] = {leaf({2, 3, 4}, 10), transposed_leaf(3, 5, 11), sliced_leaf(4, 3, 12)};
    for (const Tensor& x : inputs) {
      CAPTURE(x.shape());
      expect_gradcheck([](const auto& in) { return sum(in[0]); }, {x});
      expect_gradcheck([](const auto& in) { return mean(in[0]); }, {x});
      for (int64_t d = -x.dim(); d < x.dim(); ++d)
        for (bool keep : {false, true}) {
          CAPTURE(d);
          CAPTURE(keep);
          expect_gradcheck([d, keep](const auto& in) { return sum(in[0], d, keep); }, {x});
          expect_gradcheck([d, keep](const auto& in) { return mean(in[0], d, keep); }, {x});
        }
    }
  }

  TEST_CASE("gradcheck: max over all elements and over each dim, with and without keepdim") {
    // Distinct values well apart (no ties within the finite-difference step).
    std::vector<float> v(24);
    for (int i = 0; i < 24; ++i) v[i] = static_cast<float>((i * 7) % 24) * 0.1f - 1.f;
    const Tensor x = Tensor::from_vector(v, {2, 3, 4}, true);
    expect_gradcheck([](const auto& in) { return max(in[0]); }, {x});
    for (int64_t d = 0; d < 3; ++d)
      for (bool keep : {false, true}) {
        CAPTURE(d);
        CAPTURE(keep);
        expect_gradcheck([d, keep](const auto& in) { return max(in[0], d, keep); }, {x});
      }
    const Tensor xt = x.detach().transpose(0, 2).set_requires_grad();
    expect_gradcheck([](const auto& in) { return max(in[0], 1); }, {xt});
  }

  TEST_CASE("gradcheck: softmax and log_softmax along each dim") {
    const Tensor x = leaf({3, 4}, 13), xt = transposed_leaf(4, 3, 14);
    for (int64_t d : {0, 1, -1}) {
      CAPTURE(d);
      expect_gradcheck([d](const auto& in) { return softmax(in[0], d); }, {x});
      expect_gradcheck([d](const auto& in) { return log_softmax(in[0], d); }, {x});
      expect_gradcheck([d](const auto& in) { return log_softmax(in[0], d); }, {xt});
    }
    expect_gradcheck([](const auto& in) { return softmax(in[0], 1); }, {leaf({2, 3, 4}, 15)});
  }

  TEST_CASE("gradcheck: matmul, plain, transposed, sliced and batched") {
    expect_gradcheck([](const auto& in) { return matmul(in[0], in[1]); }, {leaf({3, 4}, 16), leaf({4, 5}, 17)});
    expect_gradcheck([](const auto& in) { return matmul(in[0], in[1].transpose(0, 1)); },
                     {leaf({3, 4}, 18), leaf({5, 4}, 19)});
    expect_gradcheck([](const auto& in) { return matmul(in[0], in[1]); },
                     {transposed_leaf(3, 4, 20), sliced_leaf(4, 2, 21)});
    expect_gradcheck([](const auto& in) { return matmul(in[0], in[1]); }, {leaf({2, 3, 4}, 22), leaf({2, 4, 2}, 23)});
    expect_gradcheck([](const auto& in) { return matmul(in[0], in[1]); }, {leaf({2, 3, 4}, 24), leaf({4, 2}, 25)});
    expect_gradcheck([](const auto& in) { return matmul(in[0], in[1]); }, {leaf({3, 4}, 26), leaf({2, 4, 2}, 27)});
  }

  TEST_CASE("gradcheck: views and copies") {
    const Tensor x = leaf({2, 3, 4}, 28);
    expect_gradcheck([](const auto& in) { return in[0].reshape({6, 4}) * in[0].reshape({6, 4}); }, {x});
    expect_gradcheck([](const auto& in) { return in[0].view({4, -1}); }, {x});
    expect_gradcheck([](const auto& in) { return in[0].transpose(0, 2) * 2.f; }, {x});
    expect_gradcheck([](const auto& in) { return in[0].permute({1, 2, 0}).contiguous(); }, {x});
    expect_gradcheck([](const auto& in) { return in[0].slice(2, 1, 4, 2); }, {x});
    expect_gradcheck([](const auto& in) { return in[0].slice(0, -1, 2).squeeze(0).unsqueeze(1); }, {x});
    expect_gradcheck([](const auto& in) { return in[0].flatten(1).clone(); }, {x});
    expect_gradcheck([](const auto& in) { return in[0].reshape({12, 2}); }, {transposed_leaf(6, 4, 29)});
  }

  TEST_CASE("gradcheck catches a wrong backward") {
    // y = 2x recorded with the backward of y = x: a bug gradcheck must report.
    auto wrong_double = [](const Tensor& x) {
      Tensor y = dispatch::binary(kernels::BinaryOp::add, x, x, "wrong");
      autograd::record("wrong", y, {x}, [](const Tensor& dy) { return autograd::Grads{dy}; });
      return y;
    };
    const auto r = gradcheck([&](const auto& in) { return wrong_double(in[0]); }, {leaf({4}, 30)});
    CHECK_FALSE(r.ok);
    CHECK(r.worst_ratio > 10);
    CHECK(r.report.find("input 0 [4]") != std::string::npos);
  }

  TEST_CASE("a node takes up to kMaxInputs inputs, and more are refused naming the op") {
    // y = Σ_i (i + 1) · x_i over five inputs: each gets dy scaled by its weight.
    std::vector<Tensor> xs;
    for (int i = 0; i < 5; ++i) xs.push_back(Tensor::from_vector({1.f, 2.f}, {2}, true));
    Tensor y = Tensor::zeros({2});
    for (int i = 0; i < 5; ++i)
      y = dispatch::binary(kernels::BinaryOp::add, y, xs[i] * static_cast<float>(i + 1), "five");
    y = y.detach();
    autograd::record("five", y, {xs[0], xs[1], xs[2], xs[3], xs[4]}, [](const Tensor& dy) {
      autograd::Grads g;
      for (int i = 0; i < 5; ++i)
        g[i] = dispatch::binary(kernels::BinaryOp::mul, dy, Tensor::full({2}, i + 1.f), "five");
      return g;
    });
    sum(y).backward();
    for (int i = 0; i < 5; ++i) CHECK(xs[i].grad().to_vector() == std::vector<float>(2, i + 1.f));
    const Tensor a = Tensor::ones({1}, {.requires_grad = true});
    Tensor z = Tensor::ones({1});
    CHECK(error_of([&] {
            autograd::record("nine", z, {a, a, a, a, a, a, a, a, a}, [](const Tensor&) { return autograd::Grads{}; });
          }) == "nine: a node takes at most 8 inputs");
  }

  TEST_CASE("W.transpose(0, 1) routes its gradient back to W") {
    // L = Σ_i (x·Wᵀ)_i = Σ_i Σ_k x_k W[i, k], so dL/dW[i, k] = x_k for every row i.
    const Tensor w = Tensor::from_vector({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3}, true);
    const Tensor x = Tensor::from_vector({1.f, 10.f, 100.f}, {1, 3});
    sum(matmul(x, w.transpose(0, 1))).backward();
    CHECK(w.grad().to_vector() == std::vector<float>{1.f, 10.f, 100.f, 1.f, 10.f, 100.f});
    CHECK(w.grad().is_contiguous());
  }

  TEST_CASE("gradients accumulate across backward calls and along shared paths") {
    const Tensor x = Tensor::from_vector({2.f, -3.f}, {2}, true);
    sum(x * x).backward();
    CHECK(x.grad().to_vector() == std::vector<float>{4.f, -6.f});
    sum(x * 3.f).backward();
    CHECK(x.grad().to_vector() == std::vector<float>{7.f, -3.f});
    detail::impl_of(x)->grad = Tensor{};
    const Tensor y = x * 2.f;
    sum(y + y * y).backward();  // d/dx = 2 + 8x
    CHECK(x.grad().to_vector() == std::vector<float>{18.f, -22.f});
  }

  TEST_CASE("leaves never share a gradient buffer") {
    const Tensor a = Tensor::from_vector({1.f, 2.f}, {2}, true), b = Tensor::from_vector({3.f, 4.f}, {2}, true);
    sum(a + b).backward();  // both receive the same dy
    CHECK_FALSE(a.grad().shares_storage(b.grad()));
    const Tensor seed = Tensor::ones({2});
    const Tensor c = Tensor::from_vector({1.f, 2.f}, {2}, true);
    c.backward(seed);  // a leaf seeded directly keeps a copy, not the caller's tensor
    CHECK_FALSE(c.grad().shares_storage(seed));
    CHECK(c.grad().to_vector() == std::vector<float>{1.f, 1.f});
  }

  TEST_CASE("backward(gradient) seeds a non-scalar output") {
    const Tensor x = Tensor::from_vector({1.f, 2.f, 3.f}, {3}, true);
    (x * x).backward(Tensor::from_vector({1.f, 0.f, -1.f}, {3}));
    CHECK(x.grad().to_vector() == std::vector<float>{2.f, 0.f, -6.f});
  }

  TEST_CASE("NoGradGuard stops recording") {
    const Tensor w = Tensor::ones({2}, {.requires_grad = true});
    {
      NoGradGuard guard;
      CHECK_FALSE(is_grad_enabled());
      const Tensor y = relu(w * 2.f);
      CHECK_FALSE(y.requires_grad());
      CHECK(y.is_leaf());
    }
    CHECK(is_grad_enabled());
    const Tensor z = w * 2.f;
    CHECK(z.requires_grad());
    CHECK_FALSE(z.is_leaf());
    CHECK_FALSE(z.detach().requires_grad());
    CHECK_FALSE((Tensor::ones({2}) * 2.f).requires_grad());  // no input requires grad: nothing recorded
  }

  TEST_CASE("the graph is freed after backward, or when its outputs go out of scope") {
    const Tensor w = Tensor::ones({3}, {.requires_grad = true});
    std::weak_ptr<autograd::Node> node;
    {
      const Tensor loss = sum(relu(w * 2.f));
      node = loss.grad_fn();
      CHECK_FALSE(node.expired());
    }
    CHECK(node.expired());  // no backward: dropping the output frees the whole tape
    const Tensor loss = sum(exp(w));
    loss.backward();
    CHECK(loss.grad_fn()->released());
    CHECK(loss.grad_fn()->inputs().empty());
  }

  TEST_CASE("backward misuse raises minidl::Error naming the problem") {
    const Tensor w = Tensor::ones({2, 3}, {.requires_grad = true});
    CHECK(error_of([&] { relu(w).backward(); }) ==
          "backward: called on a non-scalar tensor of shape [2, 3]; reduce it to a scalar first (e.g. mean) or pass "
          "a gradient of that shape: backward(gradient)");
    const Tensor loss = sum(tanh(w));
    loss.backward();
    CHECK(error_of([&] { loss.backward(); }) ==
          "backward: the graph through 'sum' was already released by an earlier backward(); run the forward pass "
          "again (each forward pass supports one backward)");
    const Tensor h = tanh(w);
    sum(h).backward();
    CHECK(error_of([&] { sum(h * 2.f).backward(); }).find("graph through 'tanh' was already released") !=
          std::string::npos);
    CHECK(error_of([] { sum(Tensor::ones({2})).backward(); }) ==
          "backward: tensor of shape [] does not require grad (no input of its graph requires grad, or it was "
          "computed under NoGradGuard)");
    CHECK(error_of([&] { relu(w).backward(Tensor::ones({3})); }) ==
          "backward: gradient float32 [3] does not match the tensor's float32 [2, 3] on cpu");
    CHECK(error_of([&] { relu(w).set_requires_grad(false); }).find("only leaf tensors") != std::string::npos);
  }

  TEST_CASE(
      "a tensor edited in place after an op saved it fails backward, naming the op, its shape and both versions") {
    // The four ways of reaching a saved tensor's storage: the tensor itself, a detach() of it, a
    // leaf under NoGradGuard (as an optimizer does), and a view of a view. Before versions, each
    // gave a gradient computed from the edited values (w.grad() == [100, 100] instead of [3, 4]).
    const Tensor w = Tensor::from_vector({1.f, 2.f}, {2}, true);
    const Tensor x = Tensor::from_vector({3.f, 4.f}, {2});
    const Tensor direct = sum(w * x);
    x.fill_(100.f);
    CHECK(error_of([&] { direct.backward(); }) ==
          "backward: a [2] tensor that 'mul' saved for its backward was modified in place afterwards (version 0 "
          "when saved, 1 now); make the edit before the forward pass, or edit a clone()");
    CHECK_FALSE(w.grad().defined());

    const Tensor a = Tensor::from_vector({0.5f, -1.f}, {2}, true);
    const Tensor through_detach = sum(exp(a) * 2.f);
    const Tensor y = through_detach.grad_fn()->inputs()[0].grad_fn()->inputs()[0];  // exp's output
    y.detach().mul_(3.f);
    CHECK(error_of([&] { through_detach.backward(); }).find("tensor that 'exp' saved") != std::string::npos);

    const Tensor m = Tensor::from_vector({1.f, 2.f, 3.f, 4.f}, {2, 2}, true);
    const Tensor in = Tensor::from_vector({1.f, 1.f}, {1, 2}, true);
    const Tensor under_no_grad = sum(matmul(in, m));
    {
      NoGradGuard no_grad;
      m.add_(Tensor::ones({2, 2}), -0.1f);  // an optimizer's step between forward and backward
    }
    CHECK(error_of([&] { under_no_grad.backward(); }) ==
          "backward: a [2, 2] tensor that 'matmul' saved for its backward was modified in place afterwards "
          "(version 0 when saved, 1 now); make the edit before the forward pass, or edit a clone()");

    const Tensor base = Tensor::from_vector({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
    const Tensor v = Tensor::from_vector({1.f, 1.f, 1.f, 1.f, 1.f, 1.f}, {2, 3}, true);
    const Tensor through_views = sum(v * base);
    base.transpose(0, 1).slice(0, 1, 3).fill_(0.f);  // a strided view of a view: the same storage
    const std::string e = error_of([&] { through_views.backward(); });
    CHECK(e.find("a [2, 3] tensor that 'mul' saved") != std::string::npos);
    CHECK(e.find("(version 0 when saved, 1 now)") != std::string::npos);
  }

  TEST_CASE("every op that saves a tensor checks its version, and an op that saves none allows the edit") {
    // Each case: a scalar loss through the op, and a tensor the op's backward reads, to be edited.
    struct Case {
      const char* op;
      std::function<std::pair<Tensor, Tensor>(const Tensor& x)> fn;
    };
    const Tensor w = Tensor::from_vector({0.5f, -1.5f, 2.f, 1.f, -0.5f, 0.25f}, {2, 3});
    const Tensor targets = Tensor::from_vector({2, 0}, {2});
    const auto output_of = [](Tensor y) { return std::pair{sum(y * 1.f), y}; };  // ops that save their output
    const Case saving[] = {
        {"mul",
         [&](const Tensor& x) {
           return std::pair{sum(x * w), w};
         }},
        {"div",
         [&](const Tensor& x) {
           return std::pair{sum(w / x), x};
         }},
        {"log",
         [](const Tensor& x) {
           return std::pair{sum(log(x)), x};
         }},
        {"square",
         [](const Tensor& x) {
           return std::pair{sum(square(x)), x};
         }},
        {"exp", [&](const Tensor& x) { return output_of(exp(x)); }},
        {"sqrt", [&](const Tensor& x) { return output_of(sqrt(x)); }},
        {"relu", [&](const Tensor& x) { return output_of(relu(x)); }},
        {"sigmoid", [&](const Tensor& x) { return output_of(sigmoid(x)); }},
        {"tanh", [&](const Tensor& x) { return output_of(tanh(x)); }},
        {"softmax", [&](const Tensor& x) { return output_of(softmax(x, 1)); }},
        {"log_softmax", [&](const Tensor& x) { return output_of(log_softmax(x, 1)); }},
        {"matmul",
         [&](const Tensor& x) {
           return std::pair{sum(matmul(w, x.transpose(0, 1))), w};
         }},
        {"linear",
         [&](const Tensor& x) {
           return std::pair{sum(nn::functional::linear(w, x, Tensor{})), w};
         }},
        {"linear",
         [&](const Tensor& x) { return output_of(nn::functional::linear(w, x, Tensor{}, kernels::Activation::relu)); }},
        {"cross_entropy",
         [&](const Tensor& x) {
           return std::pair{nn::functional::cross_entropy(x, targets), targets};
         }},
    };
    for (const Case& c : saving) {
      CAPTURE(c.op);
      const Tensor x = Tensor::from_vector({1.f, 2.f, 0.5f, 3.f, 1.5f, 2.5f}, {2, 3}, true);
      const auto loss_saved = c.fn(x);  // not a structured binding: captured below
      const Tensor& loss = loss_saved.first;
      const Tensor& saved = loss_saved.second;
      {
        // Writing the same values back changes nothing, but it is a write: a version cannot tell.
        NoGradGuard no_grad;
        saved.detach().copy_(saved.clone());
      }
      CHECK(error_of([&] { loss.backward(); }).find("tensor that '" + std::string(c.op) + "' saved") !=
            std::string::npos);
    }
    const Case saving_none[] = {
        {"add",
         [&](const Tensor& x) {
           return std::pair{sum(x + w), x};
         }},
        {"sub",
         [&](const Tensor& x) {
           return std::pair{sum(w - x), x};
         }},
        {"neg",
         [](const Tensor& x) {
           return std::pair{sum(-x), x};
         }},
        {"mean",
         [](const Tensor& x) {
           return std::pair{sum(mean(x, 0)), x};
         }},
        {"views",
         [](const Tensor& x) {
           return std::pair{sum(x.transpose(0, 1).reshape({6}).slice(0, 1, 5).clone()), x};
         }},
    };
    for (const Case& c : saving_none) {
      CAPTURE(c.op);
      const Tensor x = Tensor::from_vector({1.f, 2.f, 0.5f, 3.f, 1.5f, 2.5f}, {2, 3}, true);
      const auto loss_edited = c.fn(x);  // not a structured binding: captured below
      const Tensor& loss = loss_edited.first;
      const Tensor& edited = loss_edited.second;
      {
        NoGradGuard no_grad;
        edited.fill_(7.f);  // none of these backwards reads x's values: the gradient stays exact
      }
      CHECK(error_of([&] { loss.backward(); }).empty());
      CHECK(x.grad().defined());
    }
  }

  TEST_CASE("a gradient that does not read the edited tensor is allowed, and so are edits between graphs") {
    // y = w·x with only w requiring grad: dw = dy·x reads x, never w. Editing w after the forward
    // (what an optimizer stepping between forward and backward does) leaves dw exact, as in PyTorch.
    const Tensor w = Tensor::from_vector({1.f, 2.f}, {2}, true);
    const Tensor x = Tensor::from_vector({3.f, 4.f}, {2});
    const Tensor loss = sum(w * x);
    {
      NoGradGuard no_grad;
      w.fill_(-9.f);
    }
    loss.backward();
    CHECK(w.grad().to_vector() == std::vector<float>{3.f, 4.f});
    // An edit after backward() (the graph is released) or before the next forward is an ordinary update.
    x.fill_(1.f);
    sum(w * x).backward();
    CHECK(w.grad().to_vector() == std::vector<float>{4.f, 5.f});
    // Replacing a saved leaf's data (set_data) is refused the same way.
    const Tensor p = Tensor::from_vector({2.f, 2.f}, {2}, true);
    const Tensor q = Tensor::from_vector({1.f, 1.f}, {2}, true);
    const Tensor both = sum(p * q);
    p.set_data(Tensor::ones({2}));
    CHECK(error_of([&] { both.backward(); }).find("that 'mul' saved for its backward had its data replaced") !=
          std::string::npos);
    // An op that does not say what it saves is checked on every input and its output.
    const Tensor in = Tensor::from_vector({1.f, 2.f}, {2}, true);
    Tensor out = dispatch::binary(kernels::BinaryOp::add, in, in, "twice");
    autograd::record("twice", out, {in}, [](const Tensor& dy) { return autograd::Grads{2.f * dy}; });
    const Tensor total = sum(out);
    out.detach().fill_(0.f);
    CHECK(error_of([&] { total.backward(); }).find("tensor that 'twice' saved") != std::string::npos);
  }

  TEST_CASE("a two-layer network's gradients match PyTorch to 1e-5") {
    namespace ref = two_layer_net;
    const Tensor x = Tensor::from_vector(ref::x, {ref::N, ref::D}, true);
    const Tensor w1 = Tensor::from_vector(ref::w1, {ref::H, ref::D}, true);
    const Tensor b1 = Tensor::from_vector(ref::b1, {ref::H}, true);
    const Tensor w2 = Tensor::from_vector(ref::w2, {ref::C, ref::H}, true);
    const Tensor b2 = Tensor::from_vector(ref::b2, {ref::C}, true);
    const Tensor onehot = Tensor::from_vector(ref::onehot, {ref::N, ref::C});

    const Tensor h = relu(matmul(x, w1.transpose(0, 1)) + b1);
    const Tensor z = 3.f * tanh(matmul(h, w2.transpose(0, 1)) + b2);
    const Tensor loss = -mean(sum(log_softmax(z, 1) * onehot, 1));
    loss.backward();

    // Per element: 1e-5·|want| for the elementwise functions (tanh, exp, log: each side's own
    // implementation, a few ulps apart), plus the summation orders: every value passes through at most
    // six stages (two matmuls, log-softmax, the row sum, the mean, each again backward), each a sum of
    // at most max(N, D, H, C) = 8 terms no larger than the array's largest magnitude, which PyTorch and
    // minidl add in their own orders: 6 · testing::reorder_tolerance(8, scale) in all. Zeros, from
    // dead relu units, must be exact.
    auto expect_close = [](const char* name, const Tensor& got, const std::vector<float>& want) {
      CAPTURE(name);
      const auto g = got.to_vector();
      REQUIRE(g.size() == want.size());
      double scale = 0;
      for (float v : want) scale = std::max(scale, std::fabs(static_cast<double>(v)));
      const double orders = 6 * testing::reorder_tolerance(8, scale, 0);
      for (size_t i = 0; i < g.size(); ++i) {
        CAPTURE(i);
        if (want[i] == 0.f) CHECK(g[i] == 0.f);
        else CHECK(std::fabs(g[i] - want[i]) <= 1e-5 * std::fabs(want[i]) + orders);
      }
    };
    CHECK(loss.item() == doctest::Approx(ref::loss).epsilon(1e-6));
    expect_close("dx", x.grad(), ref::dx);
    expect_close("dw1", w1.grad(), ref::dw1);
    expect_close("db1", b1.grad(), ref::db1);
    expect_close("dw2", w2.grad(), ref::dw2);
    expect_close("db2", b2.grad(), ref::db2);
  }
  // to_dot draws the tape backward() would run: one box per op and per leaf, one arrow per input.
  TEST_CASE("to_dot draws every op, leaf and input of the tape, counted for two known graphs") {
    const auto count = [](const std::string& dot, const std::string& what) {
      size_t n = 0;
      for (size_t at = dot.find(what); at != std::string::npos; at = dot.find(what, at + 1)) ++n;
      return n;
    };
    // A box is a line "  opN [label=\"#N …" (an op) or "  leafN [label=…"; an arrow a line "  a -> opN;".
    // docs/autograd.md's chain: loss = mean(relu(x·Wᵀ + b)), x data: 5 ops, 3 leaves, 7 inputs.
    const Tensor x = Tensor::from_vector({1.f, -2.f, 0.5f, 3.f, 0.f, 1.f}, {2, 3});
    const Tensor w =
        Tensor::from_vector({0.1f, 0.2f, -0.3f, 0.4f, 0.5f, 0.6f, -0.7f, 0.8f, 0.9f, 1.f, 1.1f, -1.2f}, {4, 3}, true);
    const Tensor b = Tensor::from_vector({0.1f, -0.1f, 0.2f, 0.f}, {4}, true);
    const Tensor loss = mean(relu(matmul(x, w.transpose(0, 1)) + b));
    const std::string dot = autograd::to_dot(loss, {{"W", w}, {"b", b}, {"x", x}});
    INFO(dot);
    CHECK(count(dot, " [label=\"#") == 5);
    CHECK(count(dot, " [label=") == 5 + 3);
    CHECK(count(dot, " -> op") == 7);
    CHECK(dot.find("5 ops, 3 leaves, 7 edges") != std::string::npos);
    for (const char* op : {"#1 transpose", "#2 matmul", "#3 add", "#4 relu", "#5 mean"})
      CHECK(dot.find(op) != std::string::npos);
    CHECK(dot.find("W\\n[4, 3]\\nrequires grad") != std::string::npos);
    CHECK(dot.find("x\\n[2, 3]\\nno grad") != std::string::npos);
    CHECK(dot.find("→ [2, 4]\\nsaves its output [2, 4]") != std::string::npos);  // relu reads y
    CHECK(dot.find("→ [] (root)") != std::string::npos);
    // backward() releases the graph: drawing it afterwards is an error that says why.
    loss.backward();
    CHECK(error_of([&] { autograd::to_dot(loss); }).find("released by backward()") != std::string::npos);

    // An MLP step as minidl train takes it: Linear + ReLU fused, Linear, cross-entropy: 3 ops,
    // the batch and 4 parameters, 3 + 3 + 1 inputs; a tensor used twice is one leaf with two arrows.
    Generator gen(0);
    const auto model = nn::mlp(4, {3}, 2, gen);
    const Tensor batch = Tensor::from_vector(std::vector<float>(8 * 4, 0.5f), {8, 4});
    const Tensor targets = Tensor::from_vector(std::vector<float>(8, 1.f), {8}).to(DType::int32);
    NamedTensors names = model->named_parameters();
    names.emplace_back("labels", targets);
    const std::string mlp = autograd::to_dot(nn::functional::cross_entropy((*model)(batch), targets), names);
    INFO(mlp);
    CHECK(mlp.find("3 ops, 5 leaves, 7 edges") != std::string::npos);
    CHECK(count(mlp, " [label=\"#") == 3);
    CHECK(count(mlp, " [label=") == 3 + 5);
    CHECK(count(mlp, " -> op") == 7);
    CHECK(count(mlp, "requires grad") == 4);
    for (const char* name : {"0.weight\\n[3, 4]", "0.bias\\n[3]", "2.weight\\n[2, 3]", "2.bias\\n[2]"})
      CHECK(mlp.find(name) != std::string::npos);
    CHECK(mlp.find("#3 cross_entropy\\n→ [] (root)\\nsaves a tensor of its own [8, 2],\\nlabels [8] int32") !=
          std::string::npos);
    const Tensor a = Tensor::from_vector({1.f, 2.f}, {2}, true);
    const std::string square = autograd::to_dot(sum(a * a));
    CHECK(square.find("2 ops, 1 leaf, 3 edges") != std::string::npos);
    CHECK(count(square, "leaf1 -> op1") == 2);
  }

  // Clusters: two "blocks" y = relu(x·W1ᵢᵀ + b1ᵢ) in sequence, then a residual add of their outputs
  // and a mean. Each block's leaves and the ops that read them (or only read its ops) lie in its box;
  // the add reads both blocks, the mean reads the add: outside.
  TEST_CASE("to_dot draws a cluster around each group of named leaves and the ops inside it") {
    const Tensor x = Tensor::from_vector({1.f, -2.f, 0.5f, 3.f}, {2, 2});
    const Tensor w0 = Tensor::from_vector({0.1f, 0.2f, -0.3f, 0.4f}, {2, 2}, true);
    const Tensor w1 = Tensor::from_vector({0.5f, -0.6f, 0.7f, 0.8f}, {2, 2}, true);
    const Tensor b1 = Tensor::from_vector({0.1f, -0.1f}, {2}, true);
    const Tensor h0 = relu(matmul(x, w0));        // #1 matmul, #2 relu: block 0
    const Tensor h1 = relu(matmul(h0, w1) + b1);  // #3 matmul, #4 add, #5 relu: block 1
    const Tensor loss = mean(h0 + h1);            // #6 add, #7 mean: outside
    const std::string dot = autograd::to_dot(loss, {{"blocks.0.w", w0}, {"blocks.1.w", w1}, {"blocks.1.b", b1}},
                                             {{"blocks.0.", "block 0"}, {"blocks.1.", "block 1"}, {"head.", "head"}});
    INFO(dot);
    const auto members = [&](const char* label) {
      const size_t at = dot.find(std::string("label=\"") + label + "\"");
      REQUIRE(at != std::string::npos);
      const size_t line = dot.find('\n', at) + 1;
      return dot.substr(line, dot.find('\n', line) - line);
    };
    // leaf1 is x (data, in no box); an op joins before the leaves it is the first to read.
    CHECK(members("block 0") == "    op1; leaf2; op2;");
    CHECK(members("block 1") == "    op3; leaf3; op4; leaf4; op5;");
    CHECK(dot.find("cluster_2") == std::string::npos);  // "head." names no leaf: no empty box
    // The exact member lines above leave #6 add and #7 mean in neither box.
  }

  TEST_CASE("a GradReadyHook reports each leaf once, as soon as its gradient is final, during backward()") {
    Tensor w = Tensor::from_vector({2.f, 3.f}, {2}).set_requires_grad();
    Tensor v = Tensor::from_vector({1.f, -1.f}, {2}).set_requires_grad();
    const Tensor x = Tensor::from_vector({5.f, 7.f}, {2});
    const Tensor loss = sum((w * x) * w + v);  // v's one use is the newest op; w's last the oldest
    std::vector<std::string> reported;
    {
      autograd::GradReadyHook hook([&](const Tensor& leaf) {
        if (leaf.is_same(v)) {
          reported.push_back("v");
          CHECK(v.grad().to_vector() == std::vector<float>{1.f, 1.f});
          CHECK(!w.grad().defined());  // w's gradient is still to come
        } else if (leaf.is_same(w)) {
          reported.push_back("w");
          CHECK(w.grad().to_vector() == std::vector<float>{20.f, 42.f});  // 2·w·x, both uses summed
        }
      });
      loss.backward();
      CHECK(reported == std::vector<std::string>{"v", "w"});
    }
    sum(w * x).backward();  // the hook is gone: nothing reported
    CHECK(reported.size() == 2);
  }

  TEST_CASE("a GradReadyHook reports a leaf that no gradient reached, and the root when it is a leaf") {
    Tensor w = Tensor::from_vector({1.f, 4.f, 2.f}, {3}).set_requires_grad();
    Tensor unused = Tensor::from_vector({1.f}, {1}).set_requires_grad();
    int calls = 0;
    bool saw_empty = false;
    autograd::GradReadyHook hook([&](const Tensor& leaf) {
      ++calls;
      if (leaf.is_same(unused)) saw_empty = !leaf.grad().defined();
    });
    // An op on the tape that lets no gradient through: the product before it gets none to pass on.
    const auto block = [](const Tensor& x) {
      Tensor y = dispatch::copy(x.detach());
      autograd::record("block", y, {x}, autograd::Saves{}, [](const Tensor&) { return autograd::Grads{}; });
      return y;
    };
    const Tensor loss = sum(w * w) + sum(block(unused * unused));
    loss.backward();
    CHECK(calls == 2);
    CHECK(saw_empty);
    w.backward(Tensor::ones({3}));
    CHECK(calls == 3);
  }
}
