#include "optim/sgd.h"

#include "autograd/elementwise.h"
#include "core/grad_mode.h"

namespace minidl::optim {

SGD::SGD(std::vector<Tensor> params, Options options)
    : Optimizer(std::move(params), options.lr, options.weight_decay, "sgd") {}

void SGD::step() {
  NoGradGuard no_grad;
  for_each_param_with_grad([](const ParamGroup& group, Tensor& p, int64_t) {
    Tensor g = p.grad();
    if (group.weight_decay != 0.f) g = g + group.weight_decay * p;  // g = grad + wd·p
    p.add_(g, -group.lr);                                           // p = p − lr·g
  });
  ++steps_;
}

}  // namespace minidl::optim
