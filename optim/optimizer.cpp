#include "optim/optimizer.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>

#include "core/dispatch.h"

namespace minidl::optim {

void check_non_negative(const char* optimizer, const char* option, float value) {
  check(std::isfinite(value) && value >= 0.f, optimizer, ": ", option, " must be >= 0, got ", value);
}

namespace {

void check_group(const ParamGroup& group, const std::vector<ParamGroup>& existing, const char* name) {
  check_non_negative(name, "lr", group.lr);
  check_non_negative(name, "weight_decay", group.weight_decay);
  check(!group.params.empty(), name, ": got an empty parameter list");
  for (const Tensor& p : group.params) {
    check(p.defined() && p.dtype() == DType::float32 && p.is_leaf() && p.requires_grad(), name,
          ": parameters must be float32 leaf tensors that require grad");
    for (const ParamGroup& g : existing)
      for (const Tensor& q : g.params)
        check(!p.is_same(q), name, ": a parameter of shape ", p.shape(), " is in two parameter groups");
  }
}

// Kept between steps (per thread): gathering a group allocates nothing once this has grown.
thread_local std::vector<dispatch::OptimSlot> gathered;

}  // namespace

Optimizer::Optimizer(std::vector<Tensor> params, float lr, float weight_decay, const char* name) : name_(name) {
  ParamGroup group{std::move(params), lr, weight_decay};
  check_group(group, groups_, name);
  groups_.push_back(std::move(group));
  resize_state();
}

void Optimizer::add_param_group(ParamGroup group) {
  check_group(group, groups_, name());
  groups_.push_back(std::move(group));
  resize_state();
  on_param_group_added();
}

void Optimizer::resize_state() {
  for (Slot& s : slots_) s.tensors.resize(static_cast<size_t>(num_params()));
  param_steps_.resize(static_cast<size_t>(num_params()), 0);
}

int Optimizer::add_state(std::string slot, std::optional<float> init, bool direction) {
  for (const Slot& s : slots_) check(s.name != slot, name_, ": state slot '", slot, "' declared twice");
  slots_.push_back(
      {std::move(slot), init, direction, std::nullopt, std::vector<Tensor>(static_cast<size_t>(num_params()))});
  return static_cast<int>(slots_.size()) - 1;
}

int Optimizer::add_state(std::string slot, Shape shape, float init) {
  const int index = add_state(std::move(slot), init, false);
  slots_.back().shape = std::move(shape);
  return index;
}

Tensor& Optimizer::state_at(int slot, int64_t i, const Tensor& param) {
  Slot& s = slots_[static_cast<size_t>(slot)];
  Tensor& t = s.tensors[static_cast<size_t>(i)];
  const Shape& shape = s.shape ? *s.shape : param.shape();
  if (!t.defined())
    t = s.init ? Tensor::full(shape, *s.init, {.device = param.device()})
               : Tensor::empty(shape, {.device = param.device()});
  return t;
}

std::span<const dispatch::OptimSlot> Optimizer::gather(const ParamGroup& group, int64_t first,
                                                       std::array<int, 3> slots) {
  gathered.clear();
  int64_t i = first;
  for (const Tensor& p : group.params) {
    const int64_t index = i++;
    if (!p.grad().defined()) continue;
    dispatch::OptimSlot s{p, p.grad(), {}, 0, false};
    for (size_t k = 0; k < slots.size(); ++k) {
      if (slots[k] < 0) continue;
      s.first = s.first || !slots_[static_cast<size_t>(slots[k])].tensors[static_cast<size_t>(index)].defined();
      s.state[k] = state_at(slots[k], index, p);
    }
    int64_t& count = param_steps_[static_cast<size_t>(index)];
    s.step = per_param_steps_ ? ++count : steps_ + 1;
    gathered.push_back(std::move(s));
  }
  return gathered;
}

void Optimizer::release_gathered() { gathered.clear(); }

void Optimizer::zero_grad() {
  for (ParamGroup& group : groups_)
    for (Tensor& p : group.params) p.set_grad(Tensor{});
}

Tensor Optimizer::step(const Closure& closure) {
  Tensor loss = closure();
  step();
  return loss;
}

void Optimizer::set_lr(float lr) {
  check_non_negative(name(), "lr", lr);
  for (ParamGroup& group : groups_) group.lr = lr;
}

int64_t Optimizer::num_params() const {
  int64_t n = 0;
  for (const ParamGroup& group : groups_) n += static_cast<int64_t>(group.params.size());
  return n;
}

std::vector<std::string> Optimizer::state_names() const {
  std::vector<std::string> names;
  for (const Slot& s : slots_) names.push_back(s.name);
  return names;
}

std::vector<std::string> Optimizer::direction_state_names() const {
  std::vector<std::string> names;
  for (const Slot& s : slots_)
    if (s.direction) names.push_back(s.name);
  return names;
}

Tensor Optimizer::state(std::string_view slot, int64_t param) const {
  for (const Slot& s : slots_)
    if (s.name == slot && param >= 0 && param < static_cast<int64_t>(s.tensors.size()))
      return s.tensors[static_cast<size_t>(param)];
  return {};
}

int64_t Optimizer::param_steps(int64_t param) const {
  return per_param_steps_ ? param_steps_.at(static_cast<size_t>(param)) : steps_;
}

std::optional<StepExplanation> Optimizer::explain_step(int64_t, int64_t) const { return std::nullopt; }

namespace {
float value_at(const Tensor& t, int64_t flat) { return t.to_vector()[static_cast<size_t>(flat)]; }
}  // namespace

Optimizer::Coordinate Optimizer::coordinate(int64_t param, int64_t flat) const {
  int64_t i = 0;
  for (const ParamGroup& group : groups_)
    for (const Tensor& p : group.params) {
      if (i++ != param) continue;
      check(flat >= 0 && flat < p.numel(), name_, ": explain_step: coordinate ", flat,
            " is outside a parameter of shape ", p.shape());
      check(p.grad().defined(), name_, ": explain_step: the parameter of shape ", p.shape(),
            " has no gradient (call backward() first)");
      return {value_at(p, flat), value_at(p.grad(), flat), group.lr, group.weight_decay, param_steps(param) + 1};
    }
  throw Error(str_cat(name_, ": explain_step: no parameter ", param, " (the optimizer has ", num_params(), ")"));
}

std::optional<float> Optimizer::state_before(std::string_view slot, int64_t param, int64_t flat) const {
  const Tensor t = state(slot, param);
  if (!t.defined()) return std::nullopt;
  return value_at(t, flat);
}

NamedTensors Optimizer::state() const {
  NamedTensors out;
  for (const Slot& s : slots_)
    for (size_t i = 0; i < s.tensors.size(); ++i)
      if (s.tensors[i].defined()) out.emplace_back(s.name + "." + std::to_string(i), s.tensors[i]);
  if (per_param_steps_) {
    std::vector<int32_t> counts;
    for (int64_t c : param_steps_) counts.push_back(static_cast<int32_t>(std::min<int64_t>(c, INT32_MAX)));
    out.emplace_back("step", Tensor::from_vector(std::move(counts), {static_cast<int64_t>(param_steps_.size())}));
  }
  return out;
}

void Optimizer::load_state(const NamedTensors& state, int64_t steps) {
  check(steps >= 0, name(), ": step count must be >= 0, got ", steps);
  std::vector<const Tensor*> params;
  for (const ParamGroup& group : groups_)
    for (const Tensor& p : group.params) params.push_back(&p);
  std::string expected;
  for (const Slot& s : slots_) expected += (expected.empty() ? "" : ", ") + s.name + ".<i>";
  if (per_param_steps_) expected += (expected.empty() ? "" : ", ") + std::string("step");
  std::vector<std::vector<Tensor>> loaded(slots_.size(), std::vector<Tensor>(params.size()));
  std::vector<int64_t> counts(params.size(), steps);
  for (const auto& [key, t] : state) {
    if (per_param_steps_ && key == "step") {
      check(t.dtype() == DType::int32 && t.shape() == Shape{static_cast<int64_t>(params.size())}, name(),
            ": step has shape ", t.shape(), ", expected [", params.size(), "] (int32)");
      const std::vector<int32_t> v = t.to_int_vector();
      for (size_t i = 0; i < v.size(); ++i) {
        check(v[i] >= 0, name(), ": step count of parameter ", i, " is negative (", v[i], ")");
        counts[i] = v[i];
      }
      continue;
    }
    const size_t dot = key.rfind('.');
    size_t i = params.size(), slot = slots_.size();
    if (dot != std::string::npos) {
      for (size_t k = 0; k < slots_.size(); ++k)
        if (std::string_view(key).substr(0, dot) == slots_[k].name) slot = k;
      if (std::from_chars(key.data() + dot + 1, key.data() + key.size(), i).ec != std::errc{}) i = params.size();
    }
    check(slot < slots_.size() && i < params.size(), name(),
          slots_.empty() && !per_param_steps_ ? str_cat(": has no per-parameter state, got '", key, "'")
                                              : str_cat(": unexpected state tensor '", key, "' (expected ", expected,
                                                        " with i in 0..", params.size() - 1, ")"));
    const Shape& expected_shape = slots_[slot].shape ? *slots_[slot].shape : params[i]->shape();
    check(t.shape() == expected_shape && t.dtype() == DType::float32, name(), ": ", key, " has shape ", t.shape(),
          slots_[slot].shape ? str_cat(", the slot's is ", expected_shape)
                             : str_cat(", parameter ", i, " has shape ", params[i]->shape()));
    // Own the tensor (step() updates it in place), on the parameter's device: a checkpoint is host data.
    const Tensor moved = dispatch::to_device(t, params[i]->device());
    loaded[slot][i] = moved.shares_storage(t) ? dispatch::copy(t) : moved;
  }
  for (size_t k = 0; k < slots_.size(); ++k) slots_[k].tensors = std::move(loaded[k]);
  if (per_param_steps_) param_steps_ = std::move(counts);
  steps_ = steps;
}

}  // namespace minidl::optim
