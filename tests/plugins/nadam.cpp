// NAdam, written outside the library exactly as docs/add-an-optimizer.md walks through it: the
// documented loop (for_each_param_with_grad), per-parameter step counts (count_steps_per_param)
// and a per-parameter scalar in state (mu_product) that checkpoints save and --resume restores.
// Built twice: as a --plugin the minidl program loads (test_cli trains, compares and sweeps with it),
// and into test_nadam, which runs the conformance kit and checks it against torch's formulas.
//
// torch.optim.NAdam(params, lr, betas=(β1, β2), eps, weight_decay, momentum_decay=ψ). For each
// parameter p with gradient grad, its own step count t and state m = exp_avg, v = exp_avg_sq (0
// before the first step) and μ̄ = mu_product (1 before the first step):
//   g      = grad + weight_decay · p
//   μ_t    = β1 · (1 − ½ · 0.96^(t·ψ)),   μ_{t+1} = β1 · (1 − ½ · 0.96^((t+1)·ψ))
//   μ̄      = μ̄ · μ_t                                  (the product μ_1·…·μ_t)
//   m      = β1 · m + (1 − β1) · g
//   v      = β2 · v + (1 − β2) · g²
//   denom  = √(v / (1 − β2^t)) + eps
//   p      = p − lr · (1 − μ_t) / (1 − μ̄) · g / denom − lr · μ_{t+1} / (1 − μ̄ · μ_{t+1}) · m / denom
// reference: https://pytorch.org/docs/stable/generated/torch.optim.NAdam.html; Dozat, "Incorporating
// Nesterov Momentum into Adam", ICLR 2016 workshop
#include <cmath>
#include <tuple>

#include <minidl/minidl.h>

namespace {

using namespace minidl;

class NAdam : public optim::Optimizer {
 public:
  struct Options {
    float lr = 2e-3f;  // torch's default, and what a run without --lr uses
    optim::Betas betas = {0.9f, 0.999f};
    float eps = 1e-8f;
    float weight_decay = 0.f;
    float momentum_decay = 4e-3f;
    static constexpr auto fields() {
      return std::tuple{optim::field("lr", &Options::lr, "learning rate"),
                        optim::field("betas", &Options::betas, "decay rates of the moments m and v"),
                        optim::field("eps", &Options::eps, "added to the denominator"),
                        optim::field("weight_decay", &Options::weight_decay, "L2 penalty, added to the gradient"),
                        optim::field("momentum_decay", &Options::momentum_decay, "ψ in μ_t's schedule")};
    }
  };
  NAdam(std::vector<Tensor> params, Options o) : Optimizer(std::move(params), o.lr, o.weight_decay, "nadam"), o_(o) {
    optim::check_non_negative("nadam", "lr", o.lr);
    optim::check_non_negative("nadam", "eps", o.eps);
    optim::check_non_negative("nadam", "momentum_decay", o.momentum_decay);
    check(o.betas.first >= 0 && o.betas.first < 1 && o.betas.second >= 0 && o.betas.second < 1,
          "nadam: betas must be in [0, 1), got ", o.betas.first, ",", o.betas.second);
    exp_avg_ = add_state("exp_avg", 0.f, /*direction=*/true);
    exp_avg_sq_ = add_state("exp_avg_sq", 0.f);
    mu_product_ = add_state("mu_product", Shape{1}, 1.f);  // a scalar per parameter, saved in checkpoints
    count_steps_per_param();                               // t: saved as "step", advanced by the loop
  }

  void step() override {
    NoGradGuard no_grad;
    const double b1 = o_.betas.first, b2 = o_.betas.second, psi = o_.momentum_decay;
    for_each_param_with_grad([&](const optim::ParamGroup& group, Tensor& p, int64_t i) {
      const double t = static_cast<double>(param_steps(i));  // this step's, 1 on the first
      Tensor g = p.grad();
      if (group.weight_decay != 0.f) g = g + group.weight_decay * p;  // g = grad + wd·p
      const double mu = b1 * (1 - 0.5 * std::pow(0.96, t * psi));
      const double mu_next = b1 * (1 - 0.5 * std::pow(0.96, (t + 1) * psi));
      Tensor& mu_product = state_at(mu_product_, i, p);
      mu_product.mul_(static_cast<float>(mu));  // μ̄ = μ̄·μ_t
      const double prod = mu_product.item();
      Tensor& m = state_at(exp_avg_, i, p);
      Tensor& v = state_at(exp_avg_sq_, i, p);
      m.mul_(static_cast<float>(b1)).add_(g, static_cast<float>(1 - b1));      // m = β1·m + (1 − β1)·g
      v.mul_(static_cast<float>(b2)).add_(g * g, static_cast<float>(1 - b2));  // v = β2·v + (1 − β2)·g²
      const Tensor denom = sqrt(v / static_cast<float>(1 - std::pow(b2, t))) + o_.eps;
      p.add_(g / denom, static_cast<float>(-group.lr * (1 - mu) / (1 - prod)));
      p.add_(m / denom, static_cast<float>(-group.lr * mu_next / (1 - prod * mu_next)));
    });
    ++steps_;
  }
  using Optimizer::step;  // step(closure) too
  const char* name() const override { return "nadam"; }

 private:
  Options o_;
  int exp_avg_, exp_avg_sq_, mu_product_;
};

const bool registered = (optim::register_optimizer<NAdam>("nadam"), true);

}  // namespace
