// nn: layers (layout, PyTorch's initialization, forward), Sequential and parameter naming, and the
// losses — values, gradients (including gradcheck of the fused cross-entropy) and their errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include <minidl/minidl.h>
#include "testing.h"

using namespace minidl;

namespace {
Tensor abs_of(const Tensor& t) {
  std::vector<float> v = t.to_vector();
  for (float& e : v) e = std::fabs(e);
  return Tensor::from_vector(v, t.shape());
}
}  // namespace

TEST_SUITE("nn") {
  TEST_CASE("Linear has PyTorch's layout and draws U(-1/sqrt(in), 1/sqrt(in)) from the generator") {
    Generator gen(0);
    nn::Linear layer(400, 30, true, gen);
    CHECK(layer.weight.shape() == Shape{30, 400});
    CHECK(layer.bias.shape() == Shape{30});
    CHECK(layer.weight.requires_grad());
    CHECK(layer.bias.requires_grad());
    const float bound = 1.f / 20.f;
    const auto w = layer.weight.to_vector();
    float lo = 1, hi = -1;
    double mean = 0;
    for (float v : w) lo = std::min(lo, v), hi = std::max(hi, v), mean += v;
    CHECK(lo >= -bound);
    CHECK(hi < bound);
    CHECK(hi - lo > 1.9f * bound);  // the whole range is used
    CHECK(std::fabs(mean / w.size()) < 0.002);
    for (float v : layer.bias.to_vector()) CHECK(std::fabs(v) <= bound);

    Generator same(0);
    nn::Linear twin(400, 30, true, same);
    CHECK(twin.weight.to_vector() == w);
    CHECK(twin.bias.to_vector() == layer.bias.to_vector());
    nn::Linear no_bias(4, 3, false, gen);
    CHECK_FALSE(no_bias.bias.defined());
    CHECK(no_bias.parameters().size() == 1);
  }

  TEST_CASE("Linear computes x * W^T + b") {
    Generator gen(1);
    nn::Linear layer(3, 2, true, gen);
    NoGradGuard no_grad;
    layer.weight.copy_(Tensor::from_vector({1.f, 2.f, 3.f, -1.f, 0.f, 1.f}, {2, 3}));
    layer.bias.copy_(Tensor::from_vector({0.5f, -0.5f}, {2}));
    const Tensor x = Tensor::from_vector({1.f, 1.f, 1.f, 2.f, 0.f, -1.f}, {2, 3});
    CHECK(layer(x).to_vector() == std::vector<float>{6.5f, -0.5f, -0.5f, -3.5f});
    CHECK(layer(Tensor::ones({4, 2, 3})).shape() == Shape{4, 2, 2});
    CHECK(error_of([&] {
            layer(Tensor::ones({2, 4}));
          }) == "Linear: input of shape [2, 4] does not match in_features=3 (expected [batch, 3])");
    CHECK(error_of([] { nn::Linear(0, 3); }) == "Linear: in_features and out_features must be positive, got 0 and 3");
  }

  TEST_CASE("Sequential names parameters like PyTorch's state_dict and applies modules in order") {
    Generator gen(2);
    const auto model = nn::mlp(784, {256, 128}, 10, gen);
    std::vector<std::string> names;
    for (const auto& [name, p] : model->named_parameters()) names.push_back(name);
    CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"});
    int64_t count = 0;
    for (const Tensor& p : model->parameters()) count += p.numel();
    CHECK(count == 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10);
    CHECK(model->size() == 5);
    CHECK((*model)(Tensor::zeros({7, 784})).shape() == Shape{7, 10});

    std::ostringstream repr;
    repr << *model;
    CHECK(repr.str() ==
          "Sequential(\n"
          "  (0): Linear(in_features=784, out_features=256, bias=True)\n"
          "  (1): ReLU()\n"
          "  (2): Linear(in_features=256, out_features=128, bias=True)\n"
          "  (3): ReLU()\n"
          "  (4): Linear(in_features=128, out_features=10, bias=True)\n"
          ")");

    nn::Sequential seq{std::make_shared<nn::Flatten>(), std::make_shared<nn::Tanh>(), std::make_shared<nn::Sigmoid>()};
    const Tensor y = seq(Tensor::from_vector({0.f, 1.f, -1.f, 2.f}, {1, 2, 2}));
    CHECK(y.shape() == Shape{1, 4});
    CHECK(y.to_vector()[1] == doctest::Approx(1 / (1 + std::exp(-std::tanh(1.0)))));
    CHECK(error_of([&] { seq[3]; }) == "Sequential: index 3 out of range for 3 modules");
  }

  TEST_CASE("parameters are the layer's own tensors: updates through one show in the other") {
    Generator gen(3);
    nn::Sequential model;
    auto& layer = model.emplace<nn::Linear>(2, 2, true, gen);
    {
      NoGradGuard no_grad;
      model.parameters()[0].fill_(5.f);
    }
    CHECK(layer.weight.to_vector() == std::vector<float>(4, 5.f));
  }

  TEST_CASE("zero_grad clears gradients, and train and eval reach every submodule") {
    Generator gen(4);
    const auto model = nn::mlp(3, {4}, 2, gen);
    sum((*model)(Tensor::ones({2, 3}))).backward();
    for (const Tensor& p : model->parameters()) CHECK(p.grad().defined());
    model->zero_grad();
    for (const Tensor& p : model->parameters()) CHECK_FALSE(p.grad().defined());
    model->eval();
    CHECK_FALSE(model->is_training());
    CHECK_FALSE((*model)[0].is_training());
    model->train();
    CHECK((*model)[2].is_training());
  }

  TEST_CASE("mse_loss is the mean squared error, with gradient 2(pred - target)/n") {
    const Tensor pred = Tensor::from_vector({1.f, 2.f, 3.f, 4.f}, {2, 2}, true);
    const Tensor target = Tensor::from_vector({0.f, 2.f, 5.f, 4.f}, {2, 2});
    const Tensor loss = nn::MSELoss{}(pred, target);
    CHECK(loss.item() == doctest::Approx((1.0 + 0 + 4 + 0) / 4));
    loss.backward();
    CHECK(pred.grad().to_vector() == std::vector<float>{0.5f, 0.f, -1.f, 0.f});
    CHECK(error_of([&] { nn::functional::mse_loss(pred, Tensor::zeros({4})); }) ==
          "mse_loss: prediction [2, 2] and target [4] have different shapes");
  }

  TEST_CASE("cross_entropy equals -mean(log_softmax[target]) and its gradient is (softmax - onehot)/N") {
    Generator gen(5);
    const Tensor logits = Tensor::randn({6, 4}, gen).set_requires_grad();
    const Tensor targets = Tensor::from_vector({0, 3, 1, 1, 2, 0}, {6});
    const Tensor loss = nn::CrossEntropyLoss{}(logits, targets);
    const auto logp = log_softmax(logits.detach(), 1).to_vector();
    const auto t = targets.to_int_vector();
    double expect = 0, abs_sum = 0;
    for (int n = 0; n < 6; ++n) expect -= logp[n * 4 + t[n]], abs_sum += std::fabs(logp[n * 4 + t[n]]);
    // The loss kernel computes each row's log-softmax itself (a 4-term log-sum-exp) and averages the
    // 6 rows in its own order: a 6-term sum of values each within a few ulps of logp's.
    CHECK(std::fabs(loss.item() - expect / 6) <= testing::reorder_tolerance(6 + 4, abs_sum / 6, expect / 6));
    loss.backward();
    const auto p = softmax(logits.detach(), 1).to_vector();
    const auto g = logits.grad().to_vector();
    for (int n = 0; n < 6; ++n)
      for (int c = 0; c < 4; ++c) CHECK(g[n * 4 + c] == doctest::Approx((p[n * 4 + c] - (c == t[n])) / 6.0));

    const auto r = autograd::gradcheck([&](const auto& in) { return nn::functional::cross_entropy(in[0], targets); },
                                       {Tensor::randn({6, 4}, gen).set_requires_grad()});
    INFO(r.report);
    CHECK(r.ok);
  }

  TEST_CASE("gradcheck: the fused linear, with and without bias, ReLU and GELU, on 2-D and 3-D inputs that require grad") {
    // The fused backward (dz = dy ⊙ relu'(y), then dx = dz·W, dW = dzᵀ·x, db = Σ dz) is where a
    // one-character slip (dy for dz) passes every end-to-end test; only these catch it.
    using kernels::Activation;
    for (const Shape& x_shape : {Shape{5, 3}, Shape{2, 4, 3}})
      for (const bool with_bias : {true, false})
        for (const Activation act : {Activation::none, Activation::relu, Activation::gelu}) {
          CAPTURE(x_shape);
          CAPTURE(with_bias);
          CAPTURE(static_cast<int>(act));
          // Values drawn from the first seed whose pre-activations all lie at least 0.2 from ReLU's
          // kink at 0, so that no finite-difference step (0.01 on a value up to 1.5) crosses it.
          Tensor x, w, b;
          for (uint64_t seed = 0;; ++seed) {
            Generator gen(seed);
            x = Tensor::uniform(x_shape, -1.5f, 1.5f, gen);
            w = Tensor::uniform({4, 3}, -1.5f, 1.5f, gen);
            b = with_bias ? Tensor::uniform({4}, -1.f, 1.f, gen) : Tensor{};
            const std::vector<float> z = nn::functional::linear(x, w, b).to_vector();
            if (std::all_of(z.begin(), z.end(), [](float v) { return std::fabs(v) >= 0.2f; })) break;
          }
          std::vector<Tensor> inputs = {x.set_requires_grad(), w.set_requires_grad()};
          if (with_bias) inputs.push_back(b.set_requires_grad());
          const auto r = autograd::gradcheck(
              [&](const auto& in) { return nn::functional::linear(in[0], in[1], with_bias ? in[2] : Tensor{}, act); },
              inputs);
          INFO(r.report);
          CHECK(r.ok);
          // And the fused op equals its parts: matmul, add, relu or gelu.
          NoGradGuard no_grad;
          Tensor parts = matmul(x, w.transpose(0, 1));
          if (with_bias) parts = parts + b;
          const std::vector<float> z = parts.to_vector();
          if (act == Activation::relu) parts = relu(parts);
          if (act == Activation::gelu) parts = nn::functional::gelu(parts);
          // The fused op may add the bias at another point of each 3-term dot product: the two agree
          // within the rounding of a 4-term sum whose Σ|terms| is |x|·|w|ᵀ + |b| (ReLU only zeroes).
          Tensor abs_sums = matmul(abs_of(x), abs_of(w).transpose(0, 1));
          if (with_bias) abs_sums = abs_sums + abs_of(b);
          const std::vector<float> fused = nn::functional::linear(x, w, b, act).to_vector(), want = parts.to_vector();
          const std::vector<float> sums = abs_sums.to_vector();
          if (act != Activation::gelu) {
            testing::check_reordered(fused, want, 4, std::vector<double>(sums.begin(), sums.end()));
            continue;
          }
          // GELU passes z's rounding on scaled by its slope (|Φ(z) + z·φ(z)| < 1.13), and each side
          // evaluates Φ within its own bound (tests/test_ops.cpp: 1.2e-7 + (z² + 10)·eps relative).
          for (size_t i = 0; i < fused.size(); ++i) {
            const double zi = z[i], eps = 0x1p-23;
            const double tol = 1.13 * testing::reorder_tolerance(4, sums[i], zi) +
                               2 * std::fabs(zi) * (1.2e-7 + (zi * zi + 10) * eps);
            CHECK(std::fabs(double(fused[i]) - double(want[i])) <= tol);
          }
        }
  }

  TEST_CASE("cross_entropy is stable for huge logits") {
    const Tensor logits = Tensor::from_vector({1e4f, 0.f, -1e4f, 0.f}, {2, 2}, true);
    // Each target is the smaller logit: loss 1e4 per row, where a naive e^x overflows to inf.
    const Tensor loss = nn::functional::cross_entropy(logits, Tensor::from_vector({1, 0}, {2}));
    CHECK(loss.item() == doctest::Approx(1e4));
    loss.backward();
    CHECK(logits.grad().to_vector() == std::vector<float>{0.5f, -0.5f, -0.5f, 0.5f});
  }

  TEST_CASE("cross_entropy rejects bad targets with the op and the shapes") {
    const Tensor logits = Tensor::zeros({3, 10});
    CHECK(error_of([&] {
            nn::functional::cross_entropy(logits, Tensor::from_vector({1, 10, 2}, {3}));
          }) == "cross_entropy: target 10 at position 1 is out of range [0, 10)");
    CHECK(error_of([&] {
            nn::functional::cross_entropy(logits, Tensor::from_vector({1, -1, 2}, {3}));
          }) == "cross_entropy: target -1 at position 1 is out of range [0, 10)");
    CHECK(error_of([&] { nn::functional::cross_entropy(logits, Tensor::zeros({3})); }) ==
          "cross_entropy: targets must be int32 class indices, got float32 [3]");
    CHECK(error_of([&] {
            nn::functional::cross_entropy(logits, Tensor::from_vector({1, 2}, {2}));
          }) == "cross_entropy: targets of shape [2] do not match logits of shape [3, 10] (expected [3])");
    CHECK(error_of([&] { nn::functional::cross_entropy(Tensor::zeros({10}), Tensor::from_vector({1}, {1})); }) ==
          "cross_entropy: expected logits of shape [N, C], got [10]");
  }

  TEST_CASE("train_step is the four-line step, bitwise, and reports a non-finite loss or gradient by name") {
    Generator gen(3);
    const Tensor x = Tensor::uniform({32, 6}, -1.f, 1.f, gen);
    const Tensor y = Tensor::from_vector(std::vector<int32_t>{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0,
                                                              1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1},
                                         {32});
    Generator g1(4), g2(4);
    const auto a = nn::mlp(6, {8}, 3, g1), b = nn::mlp(6, {8}, 3, g2);
    optim::Nesterov oa(a->parameters(), {.lr = 0.1f, .momentum = 0.9f}),
        ob(b->parameters(), {.lr = 0.1f, .momentum = 0.9f});
    for (int step = 0; step < 5; ++step) {
      const double loss = nn::train_step(*a, oa, x, y);
      const Tensor l = nn::functional::cross_entropy((*b)(x), y);
      ob.zero_grad();
      l.backward();
      ob.step();
      CHECK(loss == static_cast<double>(l.item()));
    }
    for (size_t i = 0; i < a->parameters().size(); ++i)
      CHECK(a->parameters()[i].to_vector() == b->parameters()[i].to_vector());
    // Clipping bounds the gradient's global norm before the update.
    nn::train_step(*a, oa, x, y, {.clip_grad_norm = 1e-3});
    std::vector<double> squares;
    nn::grad_squared_norms(a->parameters(), squares);
    double total = 0;
    for (double sq : squares) total += sq;
    CHECK(std::sqrt(total) == doctest::Approx(1e-3).epsilon(1e-3));
    // A NaN weight: the loss is NaN, and the step is refused before any update.
    {
      NoGradGuard no_grad;
      a->parameters()[2].fill_(NAN);
    }
    const std::vector<float> before = a->parameters()[0].to_vector();
    CHECK(error_of([&] { nn::train_step(*a, oa, x, y); }) == "the loss is nan");
    CHECK(a->parameters()[0].to_vector() == before);
    // An infinite input makes the first layer's gradient non-finite, with a finite loss.
    Generator g3(5);
    const auto c = nn::mlp(6, {8}, 3, g3);
    optim::SGD oc(c->parameters(), {.lr = 0.1f});
    Tensor xinf = x.clone();
    xinf.data<float>()[0] = 1e38f;
    const std::string e = error_of([&] { nn::train_step(*c, oc, xinf * 1e10f, y); });
    CHECK((e.starts_with("the gradient of '0.weight' is not finite") || e.starts_with("the loss is")));
  }

  TEST_CASE("evaluate gives the loss, accuracy and confusion matrix, in evaluation mode, and restores the mode") {
    // A model that always predicts class 1 of 3: accuracy is the share of 1s, and every row of the
    // confusion matrix puts its count in column 1.
    struct Constant : nn::Module {
      Tensor forward(const Tensor& x) override {
        seen_training = is_training();
        return Tensor::from_vector(std::vector<float>{0.f, 2.f, 0.f}, {1, 3}) + sum(x, 1, true) * 0.f;
      }
      std::string type_name() const override { return "Constant"; }
      bool seen_training = true;
    } model;
    const Tensor inputs = Tensor::zeros({5, 2}),
                 targets = Tensor::from_vector(std::vector<int32_t>{1, 0, 1, 2, 1}, {5});
    const data::TensorDataset set(inputs, targets);
    data::DataLoader loader(set, {.batch_size = 2});
    const nn::Evaluation e = nn::evaluate(model, loader);
    CHECK(e.total == 5);
    CHECK(e.correct == 3);
    CHECK(e.accuracy == doctest::Approx(0.6));
    CHECK(e.confusion == std::vector<std::vector<int64_t>>{{0, 1, 0}, {0, 3, 0}, {0, 1, 0}});
    const double p1 = std::exp(2.0) / (std::exp(2.0) + 2);
    CHECK(e.loss == doctest::Approx((3 * -std::log(p1) + 2 * -std::log((1 - p1) / 2)) / 5).epsilon(1e-5));
    CHECK_FALSE(model.seen_training);
    CHECK(model.is_training());
  }
}
