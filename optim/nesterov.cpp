#include "optim/nesterov.h"

#include <cmath>

#include "autograd/elementwise.h"
#include "core/dispatch.h"
#include "core/grad_mode.h"

namespace minidl::optim {

Nesterov::Nesterov(std::vector<Tensor> params, Options options)
    : Optimizer(std::move(params), options.lr, options.weight_decay, "nesterov"),
      momentum_(options.momentum),
      form_(options.form),
      // The pytorch form's kernel sets a new buffer to g; the velocity forms start from v = 0.
      buffer_(add_state("momentum_buffer", form_ == Form::pytorch ? std::nullopt : std::optional<float>(0.f),
                        /*direction=*/true)) {
  check(std::isfinite(momentum_) && momentum_ > 0.f, "nesterov: momentum must be > 0, got ", momentum_);
}

void Nesterov::step() {
  check(form_ != Form::lookahead, "nesterov: the lookahead form takes the gradient at θ + μv; call step(closure)");
  if (form_ == Form::pytorch) {
    // g = grad + wd·p;  b = g on the first step, else b = μ·b + g;  p = p − lr·(g + μ·b)
    // (one fused pass over each group's parameters)
    for_each_group_fused({buffer_, -1, -1}, [&](const ParamGroup& group, std::span<const dispatch::OptimSlot> slots) {
      dispatch::sgd_step(
          slots, {.lr = group.lr, .weight_decay = group.weight_decay, .momentum = momentum_, .nesterov = true}, name());
    });
  } else {
    NoGradGuard no_grad;
    for_each_param_with_grad([&](const ParamGroup& group, Tensor& p, int64_t i) {
      Tensor g = p.grad();
      if (group.weight_decay != 0.f) g = g + group.weight_decay * p;  // g = grad + wd·p
      Tensor& v = state_at(buffer_, i, p);
      v.mul_(momentum_).add_(g, -group.lr);  // v = μ·v − lr·g
      p.add_(momentum_ * v - group.lr * g);  // p = p + μ·v − lr·g
    });
  }
  ++steps_;
}

Tensor Nesterov::step(const Closure& closure) {
  if (form_ != Form::lookahead) return Optimizer::step(closure);
  std::vector<Tensor*> params;
  std::vector<Tensor> velocity;
  for (ParamGroup& group : groups_)
    for (Tensor& p : group.params) {
      velocity.push_back(state_at(buffer_, static_cast<int64_t>(params.size()), p));  // v = 0 before the first step
      params.push_back(&p);
    }
  {  // θ → θ + μv, the look-ahead point
    NoGradGuard no_grad;
    for (size_t i = 0; i < params.size(); ++i) params[i]->add_(velocity[i], momentum_);
  }
  struct MoveBack {  // if the closure throws: back to θ, nothing updated
    std::vector<Tensor*>& params;
    std::vector<Tensor>& velocity;
    float momentum;
    bool armed = true;
    ~MoveBack() {
      if (!armed) return;
      NoGradGuard no_grad;
      for (size_t i = 0; i < params.size(); ++i) params[i]->add_(velocity[i], -momentum);
    }
  } move_back{params, velocity, momentum_};
  Tensor loss = closure();  // gradients at θ + μv
  move_back.armed = false;
  NoGradGuard no_grad;
  size_t i = 0;
  for (ParamGroup& group : groups_)
    for (Tensor& p : group.params) {
      Tensor& v = velocity[i++];
      Tensor g = p.grad();
      if (g.defined() && group.weight_decay != 0.f) g = g + group.weight_decay * p;  // p is θ + μv here
      p.add_(v, -momentum_);                                                         // back to θ
      if (!g.defined()) continue;                                                    // no gradient: θ and v stay
      v.mul_(momentum_).add_(g, -group.lr);                                          // v = μ·v − lr·g(θ + μv)
      p.add_(v);                                                                     // θ = θ + v
    }
  ++steps_;
  return loss;
}

// The pytorch and sutskever forms; the lookahead form's gradient is taken at θ + μ·v by its closure,
// which explain-step's one backward() at θ does not reproduce, so it is not explained.
std::optional<StepExplanation> Nesterov::explain_step(int64_t param, int64_t flat) const {
  if (form_ == Form::lookahead) return std::nullopt;
  const Coordinate c = coordinate(param, flat);
  StepExplanation e;
  const float g = explain_coupled_decay(e, c.theta, c.grad, c.weight_decay);
  const std::optional<float> before = state_before("momentum_buffer", param, flat);
  if (form_ == Form::sutskever) {
    const float v0 = before.value_or(0.f);
    e.add("v (before)", v0, before ? "the velocity from the steps so far" : "the velocity starts at 0");
    const float v = momentum_ * v0 + -c.lr * g;
    e.add("v (after)", v,
          "v = μ·v − lr·g = " + explain_option(momentum_) + " · " + explain_number(v0) + " − " + explain_option(c.lr) +
              " · " + explain_number(g));
    e.delta = momentum_ * v - c.lr * g;
    e.add("Δθ", e.delta, "Δθ = μ·v − lr·g: the look-ahead correction μ·v plus the plain step");
    return e;
  }
  const float b = explain_momentum_buffer(e, before, g, momentum_, /*dampening=*/0.f);
  const float d = g + momentum_ * b;
  e.add("g + μ·b", d, "Nesterov's correction: the gradient plus the momentum step about to be taken");
  e.delta = -c.lr * d;
  e.add("Δθ", e.delta, "Δθ = −lr·(g + μ·b)");
  return e;
}

const char* to_string(Nesterov::Form form) {
  switch (form) {
    case Nesterov::Form::pytorch:
      return "pytorch";
    case Nesterov::Form::sutskever:
      return "sutskever";
    case Nesterov::Form::lookahead:
      return "lookahead";
  }
  return "?";
}

bool parse_option(const std::string& text, Nesterov::Form& form) {
  for (const auto f : {Nesterov::Form::pytorch, Nesterov::Form::sutskever, Nesterov::Form::lookahead})
    if (text == to_string(f)) return form = f, true;
  return false;
}
std::string format_option(Nesterov::Form form) { return to_string(form); }
const char* option_type(const Nesterov::Form&) { return "pytorch, sutskever or lookahead"; }

Nesterov::Form parse_nesterov_form(const std::string& name) {
  for (const auto form : {Nesterov::Form::pytorch, Nesterov::Form::sutskever, Nesterov::Form::lookahead})
    if (name == to_string(form)) return form;
  fail("nesterov: unknown form '", name, "' (known: pytorch, sutskever, lookahead)");
}

}  // namespace minidl::optim
