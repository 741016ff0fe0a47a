// optim::AdamW: Adam with decoupled weight decay.
#pragma once

#include <tuple>

#include <minidl/optim/optimizer.h>
#include <minidl/optim/options.h>

namespace minidl::optim {

/// AdamW, identical to torch.optim.AdamW(params, lr, betas=(β1, β2), eps, weight_decay, amsgrad).
/// As Adam (optim/adam.h), except that weight decay shrinks the parameter directly instead of
/// entering the gradient, so it is not rescaled by the adaptive denominator. For each parameter p
/// with gradient g, its own step count t and state m = exp_avg, v = exp_avg_sq, v_max =
/// max_exp_avg_sq (0 before the first step):
///   p = p · (1 − lr · weight_decay)                  (decoupled weight decay, before the update)
///   m = β1 · m + (1 − β1) · g
///   v = β2 · v + (1 − β2) · g²
///   v_max = max(v_max, v)                            amsgrad only; v_max replaces v below
///   p = p − lr / (1 − β1^t) · m / (√v / √(1 − β2^t) + eps)
/// NOTE: the default weight_decay is 1e-2, not 0: AdamW is Adam with decay switched on.
/// reference: https://pytorch.org/docs/stable/generated/torch.optim.AdamW.html; Loshchilov and
/// Hutter, "Decoupled Weight Decay Regularization", ICLR 2019
class AdamW : public Optimizer {
 public:
  struct Options {
    float lr = 1e-3f;
    Betas betas = {0.9f, 0.999f};
    float eps = 1e-8f;
    float weight_decay = 1e-2f;
    bool amsgrad = false;
    static constexpr auto fields() {
      return std::tuple{field("lr", &Options::lr, "learning rate"),
                        field("betas", &Options::betas, "decay rates of the moments m and v"),
                        field("eps", &Options::eps, "added to √v̂ in the denominator"),
                        field("weight_decay", &Options::weight_decay, "decoupled decay: p = p·(1 − lr·wd)"),
                        field("amsgrad", &Options::amsgrad, "divide by the running maximum of v")};
    }
  };
  AdamW(std::vector<Tensor> params, Options options);

  void step() override;
  using Optimizer::step;  // step(closure) too
  const char* name() const override { return "adamw"; }
  const Options& options() const { return options_; }

 private:
  Options options_;
  int exp_avg_, exp_avg_sq_, max_exp_avg_sq_;  // state slots (max_exp_avg_sq: -1 without amsgrad)
};

}  // namespace minidl::optim
