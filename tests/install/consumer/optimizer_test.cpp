// An outside project's optimizer, tested with the conformance kit the package installs: sign
// descent with momentum (signSGD with momentum, Bernstein et al. 2018), registered by name and
// configured with options, as a built-in one.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <minidl/minidl.h>
#include <minidl/optimizer_conformance.h>

#include <tuple>

namespace {

using namespace minidl;

///   m = β·m + (1 − β)·g;  p = p − lr·sign(m)
class SignMomentum : public optim::Optimizer {
 public:
  struct Options {
    float lr = 1e-3f;
    float beta = 0.9f;
    static constexpr auto fields() {
      return std::tuple{optim::field("lr", &Options::lr, "learning rate"),
                        optim::field("beta", &Options::beta, "decay of m")};
    }
  };
  SignMomentum(std::vector<Tensor> params, Options o)
      : Optimizer(std::move(params), o.lr, 0.f, "signum"), beta_(o.beta) {
    m_ = add_state("exp_avg", 0.f, /*direction=*/true);
  }
  void step() override {
    NoGradGuard no_grad;
    for_each_param_with_grad([&](const optim::ParamGroup& group, Tensor& p, int64_t i) {
      Tensor& m = state_at(m_, i, p);
      m.mul_(beta_).add_(p.grad(), 1.f - beta_);
      p.add_(m / (sqrt(square(m)) + 1e-30f), -group.lr);
    });
    ++steps_;
  }
  using Optimizer::step;
  const char* name() const override { return "signum"; }

 private:
  float beta_;
  int m_;
};

}  // namespace

TEST_CASE("an optimizer defined outside minidl passes the installed conformance kit") {
  optim::register_optimizer<SignMomentum>("signum");
  conformance::check_optimizer(
      {.name = "signum",
       .make =
           [](std::vector<Tensor> p, float lr) {
             return optim::make_optimizer("signum", std::move(p), {.lr = lr, .options = {{"beta", "0.95"}}});
           },
       .quadratic_lr = 0.002f,
       .quadratic_steps = 3000,
       .rosenbrock_lr = 1e-3f,
       .rosenbrock_steps = 20000});
}
