// The Lion example against the optimizer conformance kit, plus its first steps checked by hand.
#include <doctest/doctest.h>

#include <minidl/minidl.h>
#include "optimizer_conformance.h"
#include "testing.h"

using namespace minidl;

namespace {
std::unique_ptr<optim::Optimizer> lion(std::vector<Tensor> p, float lr, optim::OptionValues options = {}) {
  return optim::make_optimizer("lion", std::move(p), {.lr = lr, .options = std::move(options)});
}
}  // namespace

TEST_CASE("Lion, defined outside the library, passes the conformance kit") {
  conformance::check_optimizer({.name = "lion",
                                .make = [](std::vector<Tensor> p, float lr) { return lion(std::move(p), lr); },
                                .quadratic_lr = 0.002f,
                                .quadratic_steps = 3000,
                                .rosenbrock_lr = 1e-3f,
                                .rosenbrock_steps = 20000});
}

TEST_CASE("Lion moves every coordinate by exactly lr, and is configured like a built-in optimizer") {
  const Tensor w = Tensor::from_vector({1.f, 2.f, 3.f}, {3}, true);
  const auto opt = lion({w}, 0.1f, {{"betas", "0.5,0.9"}});
  const Tensor c = Tensor::from_vector({5.f, -0.001f, 300.f}, {3});
  for (int i = 0; i < 2; ++i) {
    opt->zero_grad();
    sum(w * c).backward();
    opt->step();
  }
  const auto v = w.to_vector();
  CHECK(v[0] == doctest::Approx(0.8).epsilon(1e-6));  // two steps of −lr·sign(5)
  CHECK(v[1] == doctest::Approx(2.2).epsilon(1e-6));
  CHECK(v[2] == doctest::Approx(2.8).epsilon(1e-6));
  CHECK(opt->state_names() == std::vector<std::string>{"exp_avg"});
  CHECK(opt->state("exp_avg", 0).to_vector()[0] ==
        doctest::Approx(0.95).epsilon(1e-6));  // m = 0.1·5 = 0.5, then 0.9·0.5 + 0.5
  CHECK(error_of([&] {
          lion({w}, 0.1f, {{"momentum", "0.9"}});
        }) == "lion: unknown option 'momentum' (lion takes: lr, betas, weight_decay)");
  CHECK(optim::optimizers_help().find("lion       lr=0.0001 betas=0.9,0.99 weight_decay=0\n") != std::string::npos);
}
