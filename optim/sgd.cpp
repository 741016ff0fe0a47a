#include "optim/sgd.h"


namespace minidl::optim {

SGD::SGD(std::vector<Tensor> params, Options options)
    : Optimizer(std::move(params), options.lr, options.weight_decay, "sgd") {}

// g = grad + wd·p;  p = p − lr·g  (one fused pass over every parameter)
void SGD::step() {
  sgd_family_step(/*momentum=*/0.f, /*dampening=*/0.f, /*nesterov=*/false, /*buffers=*/nullptr);
  ++steps_;
}

}  // namespace minidl::optim
