// Lion, written outside the library: one class, one registration line. Loaded into the minidl
// program as a plugin, it trains MNIST by name without a change to optim/:
//
//   build/minidl --plugin build/examples/custom_optimizer/libminidl_lion.so train --optimizer lion --lr 1e-4
//
// The math, as in the paper's pseudo-code (PyTorch notation), for each parameter p with gradient
// g and state m = exp_avg (0 before the first step):
//   p = p · (1 − lr · weight_decay)                 (decoupled weight decay, as AdamW)
//   c = β1 · m + (1 − β1) · g
//   p = p − lr · sign(c)
//   m = β2 · m + (1 − β2) · g
// Every coordinate moves by exactly lr (or 0): the sign throws the gradient's size away, so Lion's lr
// is typically 3–10× smaller than AdamW's. Its one state slot is half of Adam's two.
// reference: Chen et al., "Symbolic Discovery of Optimization Algorithms", NeurIPS 2023
#include <optional>
#include <tuple>

#include <minidl/minidl.h>

namespace {

using namespace minidl;

class Lion : public optim::Optimizer {
 public:
  struct Options {
    float lr = 1e-4f;
    optim::Betas betas = {0.9f, 0.99f};
    float weight_decay = 0.f;
    static constexpr auto fields() {
      return std::tuple{optim::field("lr", &Options::lr, "learning rate"),
                        optim::field("betas", &Options::betas, "β1 for the update's interpolation, β2 for m"),
                        optim::field("weight_decay", &Options::weight_decay, "decoupled decay: p = p·(1 − lr·wd)")};
    }
  };
  Lion(std::vector<Tensor> params, Options o) : Optimizer(std::move(params), o.lr, o.weight_decay, "lion"), o_(o) {
    optim::check_non_negative("lion", "lr", o.lr);
    optim::check_non_negative("lion", "weight_decay", o.weight_decay);
    check(o.betas.first >= 0 && o.betas.first < 1 && o.betas.second >= 0 && o.betas.second < 1,
          "lion: betas must be in [0, 1), got ", o.betas.first, ",", o.betas.second);
    exp_avg_ = add_state("exp_avg", 0.f, /*direction=*/true);  // saved, loaded and reported by the base class
  }

  void step() override {
    NoGradGuard no_grad;
    const float beta1 = o_.betas.first, beta2 = o_.betas.second;  // not a structured binding: captured below
    for_each_param_with_grad([&](const optim::ParamGroup& group, Tensor& p, int64_t i) {
      const Tensor g = p.grad();
      Tensor& m = state_at(exp_avg_, i, p);
      if (group.weight_decay != 0.f) p.mul_(1.f - group.lr * group.weight_decay);  // p = p·(1 − lr·wd)
      const Tensor c = beta1 * m + (1.f - beta1) * g;                              // c = β1·m + (1 − β1)·g
      // sign(c) = c / |c|; NOTE: the 1e-30 keeps 0 at 0 and is below any c that matters.
      p.add_(c / (sqrt(square(c)) + 1e-30f), -group.lr);  // p = p − lr·sign(c)
      m.mul_(beta2).add_(g, 1.f - beta2);                 // m = β2·m + (1 − β2)·g
    });
    ++steps_;
  }
  using Optimizer::step;  // step(closure) too: a class that overrides step() hides the base's overload
  const char* name() const override { return "lion"; }

  // One coordinate's step as named terms, for `minidl explain-step` (the same code path as Adam's).
  std::optional<optim::StepExplanation> explain_step(int64_t param, int64_t flat) const override {
    const Coordinate c = coordinate(param, flat);  // θ, grad, lr, weight decay and t of this coordinate
    const float beta1 = o_.betas.first, beta2 = o_.betas.second;
    optim::StepExplanation e;
    const float p = c.theta * (1.f - c.lr * c.weight_decay);
    e.add("θ·(1 − lr·wd)", p, "decoupled weight decay, before the update");
    const float m = state_before("exp_avg", param, flat).value_or(0.f);
    e.add("m (before)", m, c.t == 1 ? "exp_avg starts at 0" : "exp_avg: the running mean of g");
    const float interp = beta1 * m + (1.f - beta1) * c.grad;
    e.add("c", interp,
          "c = β1·m + (1 − β1)·g = " + optim::explain_option(beta1) + " · " + optim::explain_number(m) + " + " +
              optim::explain_option(1.f - beta1) + " · " + optim::explain_number(c.grad));
    const float sign = interp > 0.f ? 1.f : interp < 0.f ? -1.f : 0.f;
    e.add("sign(c)", sign, "the direction only: every coordinate moves by lr or not at all");
    e.add("m (after)", beta2 * m + (1.f - beta2) * c.grad, "m = β2·m + (1 − β2)·g, for the next step");
    e.delta = (p - c.lr * sign) - c.theta;
    e.add("Δθ", e.delta, "Δθ = (θ·(1 − lr·wd) − θ) − lr·sign(c)");
    return e;
  }

 private:
  Options o_;
  int exp_avg_;
};

// The one registration line: from here on `--optimizer lion`, `--opt betas=0.95,0.98` and
// make_optimizer("lion", …) work, and `minidl --plugin … train --help` lists it with its options.
const bool registered = (optim::register_optimizer<Lion>("lion"), true);

}  // namespace
