#include "optim/momentum_buffer.h"

#include <charconv>
#include <string_view>

#include "core/dispatch.h"

namespace minidl::optim {

NamedTensors MomentumBufferOptimizer::state() const {
  NamedTensors out;
  for (size_t i = 0; i < momentum_buffer_.size(); ++i)
    if (momentum_buffer_[i].defined()) out.emplace_back("momentum_buffer." + std::to_string(i), momentum_buffer_[i]);
  return out;
}

void MomentumBufferOptimizer::load_state(const NamedTensors& state, int64_t steps) {
  std::vector<const Tensor*> params;
  for (const ParamGroup& group : groups_)
    for (const Tensor& p : group.params) params.push_back(&p);
  std::vector<Tensor> loaded(params.size());
  for (const auto& [name, t] : state) {
    constexpr std::string_view prefix = "momentum_buffer.";
    size_t i = params.size();
    const bool named = std::string_view(name).starts_with(prefix) &&
                       std::from_chars(name.data() + prefix.size(), name.data() + name.size(), i).ec == std::errc{};
    check(named && i < params.size(), this->name(), ": unexpected state tensor '", name,
          "' (expected momentum_buffer.0..", params.size() - 1, ")");
    check(t.shape() == params[i]->shape() && t.dtype() == DType::float32, this->name(), ": ", name, " has shape ",
          t.shape(), ", parameter ", i, " has shape ", params[i]->shape());
    // Own the buffer (step() updates it in place), on the parameter's device: a checkpoint is host data.
    const Tensor moved = dispatch::to_device(t, params[i]->device());
    loaded[i] = moved.shares_storage(t) ? dispatch::copy(t) : moved;
  }
  momentum_buffer_ = std::move(loaded);
  Optimizer::load_state({}, steps);
}

}  // namespace minidl::optim
