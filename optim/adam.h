// optim::Adam: adaptive moment estimation.
#pragma once

#include <tuple>

#include <minidl/optim/optimizer.h>
#include <minidl/optim/options.h>

namespace minidl::optim {

/// Adam's options, torch's arguments in torch's order (AdamW's, optim/adamw.h, differ in one
/// default). Plain structs, not one template over the kind of decay: GCC 12 crashes on `{}` for a
/// class template's options with a std::pair member initializer (internal compiler error in
/// nothrow_spec_p), and users write `{}` and `{.lr = …}`.
struct AdamOptions {
  float lr = 1e-3f;
  Betas betas = {0.9f, 0.999f};
  float eps = 1e-8f;
  float weight_decay = 0.f;  // an L2 term added to the gradient
  bool amsgrad = false;
  static constexpr auto fields() {
    return std::tuple{field("lr", &AdamOptions::lr, "learning rate"),
                      field("betas", &AdamOptions::betas, "decay rates of the moments m and v"),
                      field("eps", &AdamOptions::eps, "added to √v̂ in the denominator"),
                      field("weight_decay", &AdamOptions::weight_decay, "L2 penalty, added to the gradient"),
                      field("amsgrad", &AdamOptions::amsgrad, "divide by the running maximum of v")};
  }
};

/// Adam, identical to torch.optim.Adam(params, lr, betas=(β1, β2), eps, weight_decay, amsgrad).
/// For each parameter p with gradient grad, its own step count t (1 on its first step; a step
/// without a gradient does not count) and state m = exp_avg, v = exp_avg_sq, v_max =
/// max_exp_avg_sq, all 0 before the first step:
///   g = grad + weight_decay · p                      (coupled weight decay: an L2 term in g)
///   m = β1 · m + (1 − β1) · g
///   v = β2 · v + (1 − β2) · g²
///   v_max = max(v_max, v)                            amsgrad only; v_max replaces v below
///   p = p − lr / (1 − β1^t) · m / (√v / √(1 − β2^t) + eps)
/// NOTE: eps is added after the bias correction of √v, as torch does, not to v. On the first step
/// m / √v = g / |g|, so every coordinate moves by about lr · sign(g).
/// reference: https://pytorch.org/docs/stable/generated/torch.optim.Adam.html; Kingma and Ba,
/// "Adam: A Method for Stochastic Optimization", ICLR 2015; Reddi et al., "On the Convergence of
/// Adam and Beyond", ICLR 2018 (amsgrad)
class Adam : public Optimizer {
 public:
  using Options = AdamOptions;
  Adam(std::vector<Tensor> params, Options options);

  void step() override;
  using Optimizer::step;  // step(closure) too
  const char* name() const override { return "adam"; }
  std::optional<StepExplanation> explain_step(int64_t param, int64_t flat) const override;
  const Options& options() const { return options_; }

 protected:
  /// For AdamW (optim/adamw.h): the same state and step, the weight decay decoupled when `decoupled`.
  Adam(std::vector<Tensor> params, Options options, bool decoupled, const char* name);

 private:
  Options options_;  // weight_decay as given, coupled or decoupled by decoupled_
  bool decoupled_;
  int exp_avg_, exp_avg_sq_, max_exp_avg_sq_;  // state slots (max_exp_avg_sq: -1 without amsgrad)
};

/// Checks Adam's and AdamW's options as torch does: lr, eps, weight_decay ≥ 0, 0 ≤ β < 1.
void check_adam_options(const char* name, float lr, const Betas& betas, float eps, float weight_decay);

}  // namespace minidl::optim
