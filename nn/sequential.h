// nn::Sequential: modules applied in order. Children are named "0", "1", … as in PyTorch, so an
// MLP's parameters are "0.weight", "0.bias", "2.weight", … in checkpoints.
#pragma once

#include <initializer_list>
#include <memory>

#include <minidl/nn/module.h>

namespace minidl::nn {

class Sequential : public Module {
 public:
  Sequential() = default;
  Sequential(std::initializer_list<std::shared_ptr<Module>> modules);

  /// Appends a module and returns it: model.emplace<Linear>(784, 256).
  template <class M, class... Args>
  M& emplace(Args&&... args) {
    auto m = std::make_shared<M>(std::forward<Args>(args)...);
    push_back(m);
    return *m;
  }
  void push_back(std::shared_ptr<Module> module);

  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Sequential"; }
  size_t size() const { return children().size(); }
  Module& operator[](size_t i) const;
};

/// The multilayer perceptron in → hidden[0] → … → out with ReLU between layers:
/// Sequential(Linear, ReLU, …, Linear), the model `minidl train` builds.
std::shared_ptr<Sequential> mlp(int64_t in_features, const std::vector<int64_t>& hidden, int64_t out_features,
                                Generator& gen);

}  // namespace minidl::nn
