#include "nn/module_list.h"

namespace minidl::nn {

void ModuleList::push_back(std::shared_ptr<Module> module) {
  register_module(std::to_string(children().size()), std::move(module));
}

Module& ModuleList::operator[](size_t i) const {
  check(i < children().size(), "ModuleList: index ", i, " out of range for ", children().size(), " modules");
  return *children()[i].second;
}

Tensor ModuleList::forward(const Tensor&) {
  fail("ModuleList: has no forward; call its modules (for (size_t i = 0; i < list.size(); ++i) list[i](x))");
}

Module& ModuleDict::operator[](const std::string& name) const {
  std::string known;
  for (const auto& [n, m] : children()) {
    if (n == name) return *m;
    known += (known.empty() ? "" : ", ") + n;
  }
  fail("ModuleDict: no module named '", name, "' (has: ", known, ")");
}

Tensor ModuleDict::forward(const Tensor&) { fail("ModuleDict: has no forward; call its modules by name"); }

}  // namespace minidl::nn
