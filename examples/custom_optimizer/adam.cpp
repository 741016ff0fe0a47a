// Adam, written outside the library: one class, one registration line. Loaded into the minidl
// program as a plugin, it trains MNIST by name without a change to optim/:
//
//   build/minidl --plugin build/examples/custom_optimizer/libminidl_adam.so train --optimizer adam --lr 0.001
//
// The math, as torch.optim.Adam(params, lr, betas=(β1, β2), eps, weight_decay) with the step count t:
//   g = grad + wd·p
//   m = β1·m + (1 − β1)·g            (first moment: a running mean of gradients)
//   v = β2·v + (1 − β2)·g²           (second moment: a running mean of squared gradients)
//   m̂ = m / (1 − β1^t),  v̂ = v / (1 − β2^t)     (both start at 0: undo that bias)
//   p = p − lr · m̂ / (√v̂ + eps)
// Each coordinate gets its own step size, about lr in size whatever the gradient's scale: the
// first step moves every coordinate by lr·sign(g) exactly. test_adam.cpp runs the conformance kit.
// reference: Kingma and Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015
#include <cmath>
#include <string>

#include "minidl/minidl.h"

namespace {

using namespace minidl;

class Adam : public optim::Optimizer {
 public:
  struct Options {
    float lr = 1e-3f;
    float beta1 = 0.9f, beta2 = 0.999f;
    float eps = 1e-8f;
    float weight_decay = 0.f;
  };
  Adam(std::vector<Tensor> params, Options o)
      : Optimizer(std::move(params), o.lr, o.weight_decay, "adam"), o_(o), m_(num_params()), v_(num_params()) {
    check(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1, "adam: betas must be in [0, 1)");
    check(o.eps > 0, "adam: eps must be > 0, got ", o.eps);
  }

  void step() override {
    NoGradGuard no_grad;
    ++steps_;
    const float t = static_cast<float>(steps_);
    const float correction1 = 1.f - std::pow(o_.beta1, t), correction2 = 1.f - std::pow(o_.beta2, t);
    for_each_param_with_grad([&](const optim::ParamGroup& group, Tensor& p, int64_t i) {
      Tensor g = p.grad();
      if (group.weight_decay != 0.f) g = g + group.weight_decay * p;  // g = grad + wd·p
      Tensor& m = m_[static_cast<size_t>(i)];
      Tensor& v = v_[static_cast<size_t>(i)];
      // State lives beside its parameter; state loaded from a checkpoint is host data, so it follows.
      if (!m.defined()) {
        m = Tensor::zeros(p.shape(), {.device = p.device()});
        v = Tensor::zeros(p.shape(), {.device = p.device()});
      }
      if (m.device() != p.device()) m = m.to(p.device()), v = v.to(p.device());
      m.mul_(o_.beta1).add_(g, 1.f - o_.beta1);                       // m = β1·m + (1 − β1)·g
      v.mul_(o_.beta2).add_(g * g, 1.f - o_.beta2);                   // v = β2·v + (1 − β2)·g²
      const Tensor m_hat = m / correction1, v_hat = v / correction2;  // bias correction
      p.add_(m_hat / (sqrt(v_hat) + o_.eps), -group.lr);             // p = p − lr·m̂/(√v̂ + eps)
    });
  }
  const char* name() const override { return "adam"; }

  NamedTensors state() const override {
    NamedTensors out;
    for (size_t i = 0; i < m_.size(); ++i)
      if (m_[i].defined()) {
        out.emplace_back("exp_avg." + std::to_string(i), m_[i]);
        out.emplace_back("exp_avg_sq." + std::to_string(i), v_[i]);
      }
    return out;
  }
  void load_state(const NamedTensors& state, int64_t steps) override {
    std::vector<Tensor> m(m_.size()), v(v_.size());
    for (const auto& [name, t] : state) {
      const size_t dot = name.find('.');
      const std::string kind = name.substr(0, dot);
      const size_t i = dot == std::string::npos ? m.size() : std::stoul(name.substr(dot + 1));
      check((kind == "exp_avg" || kind == "exp_avg_sq") && i < m.size(), "adam: unexpected state tensor '", name, "'");
      (kind == "exp_avg" ? m : v)[i] = t.clone();
    }
    m_ = std::move(m), v_ = std::move(v);
    Optimizer::load_state({}, steps);
  }

 protected:
  void on_param_group_added() override {
    m_.resize(static_cast<size_t>(num_params()));
    v_.resize(static_cast<size_t>(num_params()));
  }

 private:
  Options o_;
  std::vector<Tensor> m_, v_;  // per parameter; undefined before its first step
};

// The one registration line: from here on `--optimizer adam` (and make_optimizer("adam", …)) work.
const bool registered = (optim::register_optimizer("adam",
                                                   [](std::vector<Tensor> params, const optim::OptimizerConfig& c) {
                                                     check(!c.momentum && !c.dampening && c.form.empty(),
                                                           "adam: takes no momentum, dampening or form");
                                                     return std::make_unique<Adam>(
                                                         std::move(params),
                                                         Adam::Options{.lr = c.lr, .weight_decay = c.weight_decay});
                                                   }),
                         true);

}  // namespace
