#include "optim/sgd.h"
#include "core/dispatch.h"

namespace minidl::optim {

SGD::SGD(std::vector<Tensor> params, Options options)
    : Optimizer(std::move(params), options.lr, options.weight_decay, "sgd") {}

// g = grad + wd·p;  p = p − lr·g  (one fused pass over each group's parameters)
void SGD::step() {
  for_each_group_fused({-1, -1, -1}, [&](const ParamGroup& group, std::span<const dispatch::OptimSlot> slots) {
    dispatch::sgd_step(slots, {.lr = group.lr, .weight_decay = group.weight_decay}, name());
  });
  ++steps_;
}

}  // namespace minidl::optim
