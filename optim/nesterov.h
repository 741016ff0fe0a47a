// optim::Nesterov: SGD with Nesterov momentum.
#pragma once

#include <string>
#include <tuple>

#include <minidl/optim/optimizer.h>
#include <minidl/optim/options.h>

namespace minidl::optim {

/// Nesterov momentum, identical to torch.optim.SGD(params, lr, momentum, weight_decay,
/// nesterov=True). For each parameter p with gradient grad and momentum buffer b:
///   g = grad + weight_decay · p
///   b = g                       on p's first step
///   b = momentum · b + g        afterwards
///   p = p − lr · (g + momentum · b)
///
/// Where this comes from. Sutskever et al. (2013) write Nesterov's method with a velocity v that
/// takes the gradient at the look-ahead point θ + μv:
///   v' = μ·v − lr·∇f(θ + μ·v),    θ' = θ + v'
/// Store φ = θ + μv, the look-ahead point, instead of θ. Then the gradient is taken where the
/// parameters are, g = ∇f(φ), and
///   φ' = θ' + μ·v' = (φ − μ·v) + v' + μ·v' = φ − lr·g + μ·v'          (using v' − μv = −lr·g)
/// With b = −v/lr (constant lr) the velocity update is b' = μ·b + g, and μ·v' = −lr·μ·b', so
///   φ' = φ − lr·(g + μ·b')
/// which is the update above; v = 0 at the start gives b = g on the first step. The two forms
/// produce the same iterates under φ = θ + μv only while lr is constant.
///
/// The three forms, selectable with Options::form (docs/optimizers.md compares them):
///   pytorch    the update above: parameters φ, buffer b (lr outside the buffer). The default.
///   sutskever  the same parameters φ with the velocity v = −lr·b (lr inside the velocity):
///                v = μ·v − lr·g,   p = p + μ·v − lr·g
///              Identical iterates at constant lr; after an lr change the old lr stays inside v,
///              while the pytorch form applies the new lr to the whole buffer at once.
///   lookahead  the literal method: parameters θ, velocity v, the gradient taken at θ + μ·v:
///                v = μ·v − lr·(∇f(θ + μv) + wd·(θ + μv)),   θ = θ + v
///              step(closure) moves the parameters to θ + μv, calls the closure for the loss and
///              gradients there, and moves them back before updating. Its θ + μv equals the other
///              forms' parameters at constant lr (tests/test_optim.cpp checks 50 steps).
/// reference: Sutskever, Martens, Dahl, Hinton, "On the importance of initialization and momentum
/// in deep learning", ICML 2013; https://pytorch.org/docs/stable/generated/torch.optim.SGD.html
class Nesterov : public Optimizer {
 public:
  enum class Form { pytorch, sutskever, lookahead };
  struct Options {
    float lr = 0.01f;
    float momentum = 0.9f;
    float weight_decay = 0.f;
    Form form = Form::pytorch;
    static constexpr auto fields() {
      return std::tuple{field("lr", &Options::lr, "learning rate"),
                        field("momentum", &Options::momentum, "momentum factor μ"),
                        field("weight_decay", &Options::weight_decay, "L2 penalty, added to the gradient"),
                        field("form", &Options::form, "pytorch | sutskever | lookahead (docs/optimizers.md)")};
    }
  };
  Nesterov(std::vector<Tensor> params, Options options);

  void step() override;
  Tensor step(const Closure& closure) override;
  bool needs_closure() const override { return form_ == Form::lookahead; }
  const char* name() const override { return "nesterov"; }
  std::optional<StepExplanation> explain_step(int64_t param, int64_t flat) const override;
  Form form() const { return form_; }

 private:
  float momentum_;
  Form form_;
  int buffer_;  // state slot "momentum_buffer" (the velocity v in the sutskever and lookahead forms)
};

/// "pytorch", "sutskever", "lookahead"; parse_nesterov_form throws Error naming the known ones.
const char* to_string(Nesterov::Form form);
Nesterov::Form parse_nesterov_form(const std::string& name);
/// Nesterov::Options::form as an option (optim/options.h).
bool parse_option(const std::string& text, Nesterov::Form& form);
std::string format_option(Nesterov::Form form);
const char* option_type(const Nesterov::Form&);

}  // namespace minidl::optim
