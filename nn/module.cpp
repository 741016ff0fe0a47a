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

void Module::to(Device device) {
  NoGradGuard no_grad;
  for (const Tensor& p : parameters()) p.set_data(p.detach().to(device));
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

void Module::register_module(std::string name, std::shared_ptr<Module> child) {
  check(child != nullptr, type_name(), ": submodule '", name, "' is null");
  for (const auto& [existing, c] : children_)
    check(existing != name, type_name(), ": submodule '", name, "' is already registered");
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
