#include "optim/momentum_state.h"

#include <charconv>
#include <string_view>

#include "core/dispatch.h"

namespace minidl::optim {

NamedTensors momentum_state(const std::vector<Tensor>& buffers) {
  NamedTensors out;
  for (size_t i = 0; i < buffers.size(); ++i)
    if (buffers[i].defined()) out.emplace_back("momentum_buffer." + std::to_string(i), buffers[i]);
  return out;
}

void load_momentum_state(const char* optimizer, const std::vector<ParamGroup>& groups, const NamedTensors& state,
                         std::vector<Tensor>& buffers) {
  std::vector<const Tensor*> params;
  for (const ParamGroup& group : groups)
    for (const Tensor& p : group.params) params.push_back(&p);
  std::vector<Tensor> loaded(params.size());
  for (const auto& [name, t] : state) {
    constexpr std::string_view prefix = "momentum_buffer.";
    size_t i = params.size();
    const bool named = std::string_view(name).starts_with(prefix) &&
                       std::from_chars(name.data() + prefix.size(), name.data() + name.size(), i).ec == std::errc{};
    check(named && i < params.size(), optimizer, ": unexpected state tensor '", name, "' (expected momentum_buffer.0..",
          params.size() - 1, ")");
    check(t.shape() == params[i]->shape() && t.dtype() == DType::float32, optimizer, ": ", name, " has shape ",
          t.shape(), ", parameter ", i, " has shape ", params[i]->shape());
    loaded[i] = dispatch::copy(t);  // own the buffer: it is updated in place
  }
  buffers = std::move(loaded);
}

}  // namespace minidl::optim
