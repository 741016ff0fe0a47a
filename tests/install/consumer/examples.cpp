// examples/custom_layer and examples/custom_optimizer compiled against the installed package: their
// public headers are enough to write a layer with its own backward and an optimizer a name reaches.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <minidl/minidl.h>
#include <minidl/optimizer_conformance.h>

#include "leaky_relu.h"

using namespace minidl;

TEST_CASE("LeakyReLU (examples/custom_layer) from the installed headers: values and gradcheck") {
  const Tensor x = Tensor::from_vector({-2.f, -0.5f, 0.5f, 3.f}, {4}, true);
  CHECK(example::leaky_relu(x, 0.1f).to_vector() == std::vector<float>{-0.2f, -0.05f, 0.5f, 3.f});
  const Tensor leaf = Tensor::from_vector({-1.5f, -0.3f, 0.7f, 2.f, -0.9f, 1.1f}, {2, 3}, true);
  const auto r =
      autograd::gradcheck([](const std::vector<Tensor>& in) { return example::leaky_relu(in[0], 0.1f); }, {leaf});
  CHECK_MESSAGE(r.ok, r.report);
}

TEST_CASE("Lion (examples/custom_optimizer) from the installed headers passes the conformance kit") {
  conformance::check_optimizer(
      {.name = "lion",
       .make = [](std::vector<Tensor> p, float lr) { return optim::make_optimizer("lion", std::move(p), {.lr = lr}); },
       .quadratic_lr = 0.002f,
       .quadratic_steps = 3000,
       .rosenbrock_lr = 1e-3f,
       .rosenbrock_steps = 20000});
}
