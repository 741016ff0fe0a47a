// nn::ModuleList and nn::ModuleDict: containers that register their modules (so parameters(),
// state_dict() and train() reach them under "0.", "1.", … or "name.") but, unlike Sequential,
// define no forward: the owner calls the modules itself (torch.nn.ModuleList / ModuleDict).
#pragma once

#include <memory>
#include <string>

#include <minidl/nn/module.h>

namespace minidl::nn {

class ModuleList : public Module {
 public:
  ModuleList() = default;

  /// Appends a module, named by its position, and returns it: blocks.emplace<TransformerBlock>(…).
  template <class M, class... Args>
  M& emplace(Args&&... args) {
    auto m = std::make_shared<M>(std::forward<Args>(args)...);
    push_back(m);
    return *m;
  }
  void push_back(std::shared_ptr<Module> module);
  size_t size() const { return children().size(); }
  Module& operator[](size_t i) const;

  /// Throws: a list has no forward of its own (iterate over it).
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ModuleList"; }
};

class ModuleDict : public Module {
 public:
  /// Adds `module` under `name` (unique) and returns it.
  template <class M>
  std::shared_ptr<M> insert(std::string name, std::shared_ptr<M> module) {
    register_module(std::move(name), module);
    return module;
  }
  /// The module named `name`; an unknown name throws, listing the known ones.
  Module& operator[](const std::string& name) const;

  /// Throws: a dict has no forward of its own.
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ModuleDict"; }
};

}  // namespace minidl::nn
