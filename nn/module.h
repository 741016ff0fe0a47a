// nn::Module: the base of every layer. A module owns named parameters (leaf tensors that require
// grad) and named child modules; parameters() walks the tree in registration order, with dotted
// names like PyTorch's state_dict ("0.weight"), so checkpoints map one to one onto torch.nn models.
//
// NOTE: parameters are handles shared with the layer's members and are updated in place
// (optimizers write through them); rebinding a member to a new tensor would detach it from
// parameters(). Modules are not copyable for the same reason.
#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace minidl::nn {

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  virtual Tensor forward(const Tensor& input) = 0;
  Tensor operator()(const Tensor& input) { return forward(input); }

  /// Every parameter of this module and its descendants, in registration order.
  std::vector<Tensor> parameters() const;
  NamedTensors named_parameters() const;
  /// Moves every parameter to `device` in place (Tensor::set_data): handles held elsewhere (the
  /// layers' members, an optimizer's parameter list) see the moved data. Gradients are cleared.
  /// Move a model before making its optimizer: state the optimizer already holds (momentum
  /// buffers) stays where it was.
  void to(Device device);

  /// Clears every parameter's gradient (sets it to undefined, as PyTorch's set_to_none).
  void zero_grad();

  /// Training or evaluation mode, for this module and its descendants (layers such as dropout
  /// read it; the layers so far behave the same in both).
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  /// "Linear", and the arguments shown in its repr, e.g. "in_features=784, out_features=256, bias=true".
  virtual std::string type_name() const = 0;
  virtual std::string extra_repr() const { return ""; }
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }

 protected:
  /// Registers `value` (a float32 leaf) as a parameter named `name`; it will require grad.
  void register_parameter(std::string name, Tensor value);
  void register_module(std::string name, std::shared_ptr<Module> child);

 private:
  NamedTensors parameters_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

/// PyTorch-style tree: Sequential(\n  (0): Linear(in_features=784, …)\n  …\n)
std::ostream& operator<<(std::ostream& os, const Module& module);

}  // namespace minidl::nn
