// The NAdam plugin (tests/plugins/nadam.cpp), compiled in: the conformance kit, its first steps
// against torch's formulas evaluated in double, and its per-parameter scalar state in checkpoints.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include <minidl/minidl.h>
#include "optimizer_conformance.h"
#include "testing.h"

using namespace minidl;

namespace {
std::unique_ptr<optim::Optimizer> nadam(std::vector<Tensor> p, std::optional<float> lr) {
  return optim::make_optimizer("nadam", std::move(p), {.lr = lr});
}
}  // namespace

TEST_CASE("NAdam, a plugin written with the documented loop, passes the conformance kit") {
  conformance::check_optimizer({.name = "nadam",
                                .make = [](std::vector<Tensor> p, float lr) { return nadam(std::move(p), lr); },
                                .quadratic_lr = 0.05f,
                                .quadratic_steps = 3000,
                                .rosenbrock_lr = 1e-2f,
                                .rosenbrock_steps = 20000});
}

TEST_CASE("NAdam follows torch's update, counts steps per parameter and keeps mu_product in its state") {
  // f(x) = ½·Σ a_i·x_i², grad = a·x; the same five steps in double, by torch.optim.NAdam's formulas.
  const std::vector<float> a = {1.f, 10.f, 0.1f}, x0 = {1.f, -0.5f, 2.f};
  const Tensor x = Tensor::from_vector(x0, {3}, true), unused = Tensor::from_vector({0.f}, {1}, true);
  const auto opt = nadam({x, unused}, std::nullopt);  // lr: NAdam's declared default, 2e-3
  CHECK(opt->lr() == 2e-3f);
  const double lr = 2e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8, psi = 4e-3;
  std::vector<double> ref(x0.begin(), x0.end()), m(3, 0), v(3, 0);
  double prod = 1;
  for (int t = 1; t <= 5; ++t) {
    opt->zero_grad();
    (0.5f * sum(Tensor::from_vector(a, {3}) * x * x)).backward();  // `unused` gets no gradient
    opt->step();
    const double mu = b1 * (1 - 0.5 * std::pow(0.96, t * psi)),
                 mu_next = b1 * (1 - 0.5 * std::pow(0.96, (t + 1) * psi));
    prod *= mu;
    for (size_t i = 0; i < 3; ++i) {
      const double g = a[i] * ref[i];
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      const double denom = std::sqrt(v[i] / (1 - std::pow(b2, t))) + eps;
      ref[i] -= lr * (1 - mu) / (1 - prod) * g / denom + lr * mu_next / (1 - prod * mu_next) * m[i] / denom;
    }
  }
  // Each step moves a coordinate by about lr; float rounds each of the few terms to ~1 ulp of |x| ≤ 2.
  const double tol = 5 * 8 * std::numeric_limits<float>::epsilon() * 2;
  const std::vector<float> got = x.to_vector();
  for (size_t i = 0; i < 3; ++i) CHECK(got[i] == doctest::Approx(ref[i]).epsilon(0).scale(0).epsilon(tol));
  CHECK(opt->param_steps(0) == 5);  // the documented loop counts
  CHECK(opt->param_steps(1) == 0);  // no gradient, no step
  CHECK(opt->state("mu_product", 0).shape() == Shape{1});
  CHECK(opt->state("mu_product", 0).item() == doctest::Approx(prod).epsilon(1e-6));
  CHECK_FALSE(opt->state("mu_product", 1).defined());

  // A checkpoint holds mu_product.0 and the counts; a fresh optimizer restores them.
  const NamedTensors saved = opt->state();
  const auto has = [&](const std::string& key) {
    for (const auto& [k, t] : saved)
      if (k == key) return true;
    return false;
  };
  CHECK(has("mu_product.0"));
  CHECK(has("step"));
  const auto restored = nadam({Tensor::from_vector(x0, {3}, true), Tensor::from_vector({0.f}, {1}, true)}, 1e-3f);
  restored->load_state(saved, opt->steps());
  CHECK(restored->param_steps(0) == 5);
  CHECK(restored->state("mu_product", 0).item() == opt->state("mu_product", 0).item());
  NamedTensors bad = saved;
  for (auto& [k, t] : bad)
    if (k == "mu_product.0") t = Tensor::ones({3});
  CHECK(error_of([&] { restored->load_state(bad, 5); }) == "nadam: mu_product.0 has shape [3], the slot's is [1]");
}
