// The LeakyReLU example: values, gradcheck (the numerical gradient against backward), and a small
// model with it that learns.
#include <doctest/doctest.h>

#include "leaky_relu.h"
#include "testing.h"

using namespace minidl;

TEST_CASE("LeakyReLU: values, and backward agrees with finite differences") {
  const Tensor x = Tensor::from_vector({-2.f, -0.5f, 0.5f, 3.f}, {4}, true);
  CHECK(example::leaky_relu(x, 0.1f).to_vector() == std::vector<float>{-0.2f, -0.05f, 0.5f, 3.f});
  Generator gen(1);
  // Random inputs away from the kink at 0, where finite differences straddle two slopes.
  std::vector<float> v = Tensor::uniform({3, 5}, 0.2f, 2.f, gen).to_vector();
  for (size_t i = 0; i < v.size(); i += 2) v[i] = -v[i];
  const Tensor leaf = Tensor::from_vector(v, {3, 5}, true);
  const auto r =
      autograd::gradcheck([](const std::vector<Tensor>& in) { return example::leaky_relu(in[0], 0.1f); }, {leaf});
  CHECK_MESSAGE(r.ok, r.report);
  CHECK(error_of([] { example::LeakyReLU(1.5f); }) == "LeakyReLU: slope must be in [0, 1), got 1.5");
}

TEST_CASE("a model with LeakyReLU trains like one with ReLU") {
  Generator gen(0);
  nn::Sequential model;
  model.emplace<nn::Linear>(4, 16, true, gen);
  model.emplace<example::LeakyReLU>(0.05f);
  model.emplace<nn::Linear>(16, 1, true, gen);
  const Tensor x = Tensor::uniform({32, 4}, -1.f, 1.f, gen);
  const Tensor y = sum(x * x, 1, true);  // a target no linear model can fit
  optim::SGD opt(model.parameters(), {.lr = 0.1f});
  float first = 0, last = 0;
  for (int step = 0; step < 300; ++step) {
    opt.zero_grad();
    const Tensor loss = nn::functional::mse_loss(model(x), y);
    loss.backward();
    opt.step();
    (step == 0 ? first : last) = loss.item();
  }
  CHECK(last < 0.1f * first);
}
