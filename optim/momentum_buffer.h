// The base of optimizers that keep one momentum buffer per parameter (Momentum, Nesterov): the
// buffers, and their place in checkpoints as "momentum_buffer.<i>" (i the parameter's index;
// buffers not created yet — no step so far — are absent).
#pragma once

#include <vector>

#include "optim/optimizer.h"

namespace minidl::optim {

class MomentumBufferOptimizer : public Optimizer {
 public:
  NamedTensors state() const override;
  void load_state(const NamedTensors& state, int64_t steps) override;

 protected:
  MomentumBufferOptimizer(std::vector<Tensor> params, float lr, float weight_decay, const char* name)
      : Optimizer(std::move(params), lr, weight_decay, name), momentum_buffer_(static_cast<size_t>(num_params())) {}

  void on_param_group_added() override { momentum_buffer_.resize(static_cast<size_t>(num_params())); }

  std::vector<Tensor> momentum_buffer_;  // per parameter; undefined before its first step
};

}  // namespace minidl::optim
