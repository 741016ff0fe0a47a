// The Adam example against the optimizer conformance kit, plus its first step checked by hand.
#include <doctest/doctest.h>

#include "minidl/minidl.h"
#include "optimizer_conformance.h"
#include "testing.h"

using namespace minidl;

TEST_CASE("Adam, defined outside the library, passes the conformance kit") {
  conformance::check_optimizer({.name = "adam",
                                .make = [](std::vector<Tensor> p, float lr) { return optim::make_optimizer("adam", std::move(p), {.lr = lr}); },
                                .quadratic_lr = 0.05f,
                                .quadratic_steps = 2000,
                                .rosenbrock_lr = 0.02f,
                                .rosenbrock_steps = 5000});
}

TEST_CASE("Adam's first step moves every coordinate by lr · sign(gradient)") {
  const Tensor w = Tensor::from_vector({1.f, 2.f, 3.f}, {3}, true);
  const auto opt = optim::make_optimizer("adam", {w}, {.lr = 0.1f});
  sum(w * Tensor::from_vector({5.f, -0.001f, 300.f}, {3})).backward();
  opt->step();
  const auto v = w.to_vector();
  CHECK(v[0] == doctest::Approx(0.9).epsilon(1e-5));
  CHECK(v[1] == doctest::Approx(2.1).epsilon(1e-5));
  CHECK(v[2] == doctest::Approx(2.9).epsilon(1e-5));
  CHECK(error_of([&] { optim::make_optimizer("adam", {w}, {.momentum = 0.9f}); }) ==
        "adam: takes no momentum, dampening or form");
}
