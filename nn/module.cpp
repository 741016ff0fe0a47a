#include "nn/module.h"

#include "core/grad_mode.h"

namespace minidl::nn {

NamedTensors Module::named_parameters() const {
  NamedTensors out = parameters_;
  for (const auto& [prefix, child] : children_)
    for (auto& [name, p] : child->named_parameters()) out.emplace_back(prefix + "." + name, p);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, p] : named_parameters()) out.push_back(p);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out = buffers_;
  for (const auto& [prefix, child] : children_)
    for (auto& [name, b] : child->named_buffers()) out.emplace_back(prefix + "." + name, b);
  return out;
}

std::vector<Tensor> Module::buffers() const {
  std::vector<Tensor> out;
  for (auto& [name, b] : named_buffers()) out.push_back(b);
  return out;
}

NamedTensors Module::state_dict() const {
  NamedTensors out = parameters_;
  out.insert(out.end(), buffers_.begin(), buffers_.end());
  for (const auto& [prefix, child] : children_)
    for (auto& [name, t] : child->state_dict()) out.emplace_back(prefix + "." + name, t);
  return out;
}

void Module::load_state_dict(const NamedTensors& state) {
  const NamedTensors own = state_dict();
  std::vector<const Tensor*> source(own.size(), nullptr);
  std::string problems;
  const auto problem = [&](auto&&... parts) { problems += (problems.empty() ? "" : "; ") + str_cat(parts...); };
  for (const auto& [name, t] : state) {
    size_t i = 0;
    while (i < own.size() && own[i].first != name) ++i;
    if (i == own.size()) {
      problem("unexpected '", name, "'");
    } else if (source[i]) {
      problem("'", name, "' given twice");
    } else if (!t.defined() || t.shape() != own[i].second.shape() || t.dtype() != own[i].second.dtype()) {
      problem("'", name, "' is ", t.defined() ? str_cat(t.dtype(), " ", t.shape()) : std::string("undefined"),
              ", the model's is ", own[i].second.dtype(), " ", own[i].second.shape());
    } else {
      source[i] = &t;
    }
  }
  for (size_t i = 0; i < own.size(); ++i)
    if (!source[i] && problems.find("'" + own[i].first + "'") == std::string::npos)
      problem("missing '", own[i].first, "'");
  check(problems.empty(), "load_state_dict: ", type_name(), ": ", problems);
  NoGradGuard no_grad;
  for (size_t i = 0; i < own.size(); ++i) own[i].second.copy_(source[i]->to(own[i].second.device()));
}

void Module::to(Device device) {
  NoGradGuard no_grad;
  for (const Tensor& p : parameters()) p.set_data(p.detach().to(device));
  for (const Tensor& b : buffers()) b.set_data(b.to(device));
}

void Module::zero_grad() {
  for (Tensor& p : parameters()) p.set_grad(Tensor{});
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::register_parameter(std::string name, Tensor value) {
  check(value.defined() && value.dtype() == DType::float32 && value.is_leaf(), type_name(), ": parameter '", name,
        "' must be a float32 leaf tensor");
  for (const auto& [existing, p] : parameters_)
    check(existing != name, type_name(), ": parameter '", name, "' is already registered");
  value.set_requires_grad(true);
  parameters_.emplace_back(std::move(name), std::move(value));
}

void Module::register_buffer(std::string name, Tensor value) {
  check(value.defined() && value.is_leaf() && !value.requires_grad(), type_name(), ": buffer '", name,
        "' must be a leaf tensor that does not require grad");
  for (const auto& [existing, b] : buffers_)
    check(existing != name, type_name(), ": buffer '", name, "' is already registered");
  buffers_.emplace_back(std::move(name), std::move(value));
}

void Module::register_module(std::string name, std::shared_ptr<Module> child) {
  check(child != nullptr, type_name(), ": submodule '", name, "' is null");
  // A set, not a scan of children_: building a model of n layers stays linear in n.
  check(child_names_.insert(name).second, type_name(), ": submodule '", name, "' is already registered");
  children_.emplace_back(std::move(name), std::move(child));
}

static void print(std::ostream& os, const Module& m, const std::string& indent) {
  os << m.type_name() << '(' << m.extra_repr();
  if (m.children().empty()) {
    os << ')';
    return;
  }
  os << '\n';
  for (const auto& [name, child] : m.children()) {
    os << indent << "  (" << name << "): ";
    print(os, *child, indent + "  ");
    os << '\n';
  }
  os << indent << ')';
}

std::ostream& operator<<(std::ostream& os, const Module& module) {
  print(os, module, "");
  return os;
}

}  // namespace minidl::nn
