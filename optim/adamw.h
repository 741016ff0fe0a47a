// optim::AdamW: Adam with decoupled weight decay.
#pragma once

#include <minidl/optim/adam.h>

namespace minidl::optim {

/// AdamW, identical to torch.optim.AdamW(params, lr, betas=(β1, β2), eps, weight_decay, amsgrad).
/// Adam (optim/adam.h) with one change, as torch's AdamW is Adam with decoupled_weight_decay=True:
/// weight decay shrinks the parameter directly instead of entering the gradient, so it is not
/// rescaled by the adaptive denominator. For each parameter p
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
/// AdamW's options: Adam's fields, with weight decay decoupled and on by default (torch's 1e-2).
struct AdamWOptions {
  float lr = 1e-3f;
  Betas betas = {0.9f, 0.999f};
  float eps = 1e-8f;
  float weight_decay = 1e-2f;  // decoupled: p = p·(1 − lr·wd)
  bool amsgrad = false;
  static constexpr auto fields() {
    return std::tuple{field("lr", &AdamWOptions::lr, "learning rate"),
                      field("betas", &AdamWOptions::betas, "decay rates of the moments m and v"),
                      field("eps", &AdamWOptions::eps, "added to √v̂ in the denominator"),
                      field("weight_decay", &AdamWOptions::weight_decay, "decoupled decay: p = p·(1 − lr·wd)"),
                      field("amsgrad", &AdamWOptions::amsgrad, "divide by the running maximum of v")};
  }
};

class AdamW : public Adam {
 public:
  using Options = AdamWOptions;
  AdamW(std::vector<Tensor> params, Options o)
      : Adam(std::move(params), {.lr = o.lr, .betas = o.betas, .eps = o.eps, .weight_decay = o.weight_decay,
                                 .amsgrad = o.amsgrad},
             /*decoupled=*/true, "adamw") {}

  const char* name() const override { return "adamw"; }
  Options options() const {
    const Adam::Options& a = Adam::options();
    return {.lr = a.lr, .betas = a.betas, .eps = a.eps, .weight_decay = a.weight_decay, .amsgrad = a.amsgrad};
  }
};

}  // namespace minidl::optim
