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
#include <unordered_set>
#include <utility>
#include <vector>

#include <minidl/core/tensor.h>
#include <minidl/optim/optimizer.h>

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
  /// Buffers: state that is not trained by an optimizer but belongs to the model, such as batch
  /// norm's running statistics. Saved and loaded with the parameters, moved by to().
  std::vector<Tensor> buffers() const;
  NamedTensors named_buffers() const;

  /// Every parameter and buffer under PyTorch's names and in PyTorch's order (a module's
  /// parameters, then its buffers, then its children's, e.g. "1.weight", "1.bias",
  /// "1.running_mean", "1.running_var", "1.num_batches_tracked"), so it maps one to one onto the
  /// equivalent torch.nn model's state_dict(). The tensors are the module's own (handles, not copies).
  NamedTensors state_dict() const;
  /// Copies `state` into this module's parameters and buffers. Every name must be present exactly
  /// once with the same shape and dtype (on any device); otherwise Error lists what is missing,
  /// unexpected or mismatched, and nothing is changed.
  void load_state_dict(const NamedTensors& state);

  /// Moves every parameter and buffer to `device` in place (Tensor::set_data): handles held
  /// elsewhere (the layers' members, an optimizer's parameter list) see the moved data. Gradients
  /// are cleared. Move a model before making its optimizer: state the optimizer already holds
  /// (momentum buffers) stays where it was.
  void to(Device device);

  /// The parameters grouped for an optimizer, each group with its weight decay (optim::make_grouped,
  /// or optim::make_optimizer by name). By default one group, all decayed by `weight_decay`; a model
  /// with a recipe overrides it (nn::GPT: decay on 2-D weights only).
  virtual std::vector<optim::DecayGroup> optimizer_groups(float weight_decay) const {
    return {{parameters(), weight_decay}};
  }

  /// Clears every parameter's gradient (sets it to undefined, as PyTorch's set_to_none).
  void zero_grad();

  /// Training or evaluation mode, for this module and its descendants: Dropout drops only in
  /// training, and BatchNorm normalizes with the batch's statistics in training and with its
  /// running statistics in evaluation. Modules start in training mode.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  /// "Linear", and the arguments shown in its repr, e.g. "in_features=784, out_features=256, bias=True" (PyTorch's
  /// spelling).
  virtual std::string type_name() const = 0;
  virtual std::string extra_repr() const { return ""; }
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }

 protected:
  /// Registers `value` (a float32 leaf) as a parameter named `name`; it will require grad.
  void register_parameter(std::string name, Tensor value);
  void register_module(std::string name, std::shared_ptr<Module> child);
  /// Registers `value` (a leaf that does not require grad) as a buffer named `name`.
  void register_buffer(std::string name, Tensor value);

 private:
  NamedTensors parameters_;
  NamedTensors buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  std::unordered_set<std::string> child_names_;  // register_module's duplicate check, in O(1)
  bool training_ = true;
};

/// PyTorch-style tree: Sequential(\n  (0): Linear(in_features=784, …)\n  …\n)
std::ostream& operator<<(std::ostream& os, const Module& module);

}  // namespace minidl::nn
