// The optimizer conformance kit: what every minidl::optim::Optimizer must do, as one doctest
// function a new optimizer's test calls with a factory. tests/test_optim.cpp runs it on every
// built-in optimizer; examples/custom_optimizer runs it on a Lion defined outside the library.
// It is installed with the package: an outside project's doctest suite includes
// <minidl/optimizer_conformance.h> after find_package(minidl) and find_package(doctest)
// (tests/install/consumer does).
//
//   TEST_CASE("my optimizer conforms") {
//     minidl::conformance::check_optimizer({.name = "myopt", .make = [](auto params, float lr) {
//       return std::make_unique<MyOpt>(std::move(params), MyOpt::Options{.lr = lr}); }});
//   }
//
// The checks, each on small problems whose answers are known:
//   0. the step counts: after 3 steps steps() is 3 and param_steps(0) is 3 (an Adam-like optimizer
//      whose count stayed 0 would divide 0 by 0 in its bias correction);
//   1. lr = 0 leaves the parameters exactly as they were, whatever the gradients;
//   2. a zero gradient leaves them as they were (no weight decay: none is passed);
//   3. state() → load_state() into a fresh optimizer over copied parameters continues bitwise the
//      same trajectory (what checkpoints rely on);
//   4. two runs from the same start are bitwise identical (determinism);
//   5. it converges: on an ill-conditioned quadratic (curvatures 1…100) the loss falls below
//      1e-4 of its start, and on Rosenbrock's valley it gets within 0.1 of the minimum (1, 1),
//      each within the options' step budget and at the options' lr;
//   6. on a GPU, it follows the CPU's trajectory within float rounding (skipped, with a message,
//      where there is no CUDA device).
// Every check runs the optimizer through step(closure), so closure-based optimizers pass too.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <minidl/minidl.h>

namespace minidl::conformance {

struct Options {
  std::string name;
  std::function<std::unique_ptr<optim::Optimizer>(std::vector<Tensor>, float lr)> make;
  float quadratic_lr = 0.009f;  // below 2 / the largest curvature (100), as plain SGD needs
  int quadratic_steps = 2000;
  float rosenbrock_lr = 1e-3f;
  int rosenbrock_steps = 20000;
};

namespace detail {

inline Tensor leaf(const std::vector<float>& v) {
  return Tensor::from_vector(v, {static_cast<int64_t>(v.size())}, true);
}

// ½ Σ a_i x_i² with curvatures 1, 2, 5, 10, 20, 50, 100.
inline Tensor quadratic(const Tensor& x) {
  const Tensor a = Tensor::from_vector({1.f, 2.f, 5.f, 10.f, 20.f, 50.f, 100.f}, {7}).to(x.device());
  return 0.5f * sum(a * x * x);
}

// (1 − x)² + 100 (y − x²)² over p = [x, y]: a curved valley whose minimum is (1, 1).
inline Tensor rosenbrock(const Tensor& p) {
  const Tensor x = p.slice(0, 0, 1), y = p.slice(0, 1, 2);
  return sum(square(1.f - x) + 100.f * square(y - x * x));
}

// Runs `steps` steps of minimizing f over p through step(closure); returns the last loss.
inline double run(optim::Optimizer& opt, const Tensor& p, const std::function<Tensor(const Tensor&)>& f, int steps) {
  double last = 0;
  for (int i = 0; i < steps; ++i)
    last = opt.step([&] {
                opt.zero_grad();
                Tensor loss = f(p);
                loss.backward();
                return loss;
              })
               .item();
  return last;
}

}  // namespace detail

inline void check_optimizer(const Options& o) {
  using detail::leaf;
  CAPTURE(o.name);
  const std::vector<float> start = {1.f, -1.f, 0.5f, 2.f, -0.3f, 0.7f, 1.2f};

  {  // 0. step counts, first: a count stuck at 0 is the cause of the failures below, so name it
    const Tensor p = leaf(start);
    const auto opt = o.make({p}, 0.001f);
    detail::run(*opt, p, detail::quadratic, 3);
    CHECK_MESSAGE(opt->steps() == 3, "steps() is " << opt->steps() << " after 3 steps (step() must end with ++steps_)");
    CHECK_MESSAGE(opt->param_steps(0) == 3,
                  "param_steps(0) is " << opt->param_steps(0)
                                       << " after 3 steps: the step count did not advance (loop with "
                                          "for_each_param_with_grad, which counts, and end step() with ++steps_)");
  }
  {  // 1. lr = 0: no change at all
    const Tensor p = leaf(start);
    const auto opt = o.make({p}, 0.f);
    detail::run(*opt, p, detail::quadratic, 5);
    CHECK_MESSAGE(p.to_vector() == start, "lr = 0 changed the parameters");
  }
  {  // 2. zero gradient: no change
    const Tensor p = leaf(start);
    const auto opt = o.make({p}, 0.1f);
    detail::run(
        *opt, p, [](const Tensor& x) { return 0.f * sum(x); }, 5);
    CHECK_MESSAGE(p.to_vector() == start, "a zero gradient changed the parameters");
  }
  {  // 3. state round trip, 4. determinism
    const Tensor a = leaf(start), b = leaf(start), c = leaf(start);
    const auto opt_a = o.make({a}, 0.005f), opt_c = o.make({c}, 0.005f);
    detail::run(*opt_a, a, detail::quadratic, 7);
    detail::run(*opt_c, c, detail::quadratic, 7);
    {
      NoGradGuard no_grad;
      b.copy_(a);
    }
    const auto opt_b = o.make({b}, 0.005f);
    opt_b->load_state(opt_a->state(), opt_a->steps());
    CHECK(opt_b->steps() == opt_a->steps());
    detail::run(*opt_a, a, detail::quadratic, 7);
    detail::run(*opt_b, b, detail::quadratic, 7);
    detail::run(*opt_c, c, detail::quadratic, 7);
    CHECK_MESSAGE(a.to_vector() == b.to_vector(), "a reloaded state does not continue the same trajectory");
    CHECK_MESSAGE(a.to_vector() == c.to_vector(), "two identical runs differ");
  }
  {  // 5. convergence
    const Tensor q = leaf(start);
    const double q0 = detail::quadratic(q.detach()).item();
    const auto opt_q = o.make({q}, o.quadratic_lr);
    const double q_end = detail::run(*opt_q, q, detail::quadratic, o.quadratic_steps);
    CHECK_MESSAGE(q_end < 1e-4 * q0,
                  "quadratic: loss " << q_end << " after " << o.quadratic_steps << " steps (start " << q0 << ")");
    const Tensor r = leaf({-1.5f, 2.f});
    const auto opt_r = o.make({r}, o.rosenbrock_lr);
    detail::run(*opt_r, r, detail::rosenbrock, o.rosenbrock_steps);
    const std::vector<float> end = r.to_vector();
    const double distance = std::hypot(end[0] - 1.0, end[1] - 1.0);
    CHECK_MESSAGE(distance < 0.1, "Rosenbrock: ended at (" << end[0] << ", " << end[1] << "), " << distance
                                                           << " from (1, 1), after " << o.rosenbrock_steps << " steps");
  }
  if (!cuda::is_available()) {  // 6. CUDA ≡ CPU
    MESSAGE("CUDA ≡ CPU: skipped, no CUDA device (" << cuda::unavailable_reason() << ")");
    return;
  }
  const auto trajectory = [&](Device device) {
    const Tensor p = Tensor::from_vector(start, {7}).to(device).detach().set_requires_grad(true);
    const auto opt = o.make({p}, 0.005f);
    detail::run(*opt, p, detail::quadratic, 50);
    return p.to_vector();
  };
  const std::vector<float> on_gpu = trajectory(Device::cuda()), on_cpu = trajectory(Device::cpu());
  for (size_t i = 0; i < on_cpu.size(); ++i)
    CHECK_MESSAGE(std::fabs(on_gpu[i] - on_cpu[i]) <= 1e-6 + 1e-5 * std::fabs(on_cpu[i]),
                  "CUDA and CPU trajectories differ at element " << i << ": " << on_gpu[i] << " vs " << on_cpu[i]);
}

}  // namespace minidl::conformance
