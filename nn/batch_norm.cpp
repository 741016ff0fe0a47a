// batch_norm, the op (forward and backward over core/dispatch_conv.cpp), and the BatchNorm layers.
// The op's node has five inputs: x, weight and bias get gradients; the running statistics are
// inputs only so that the graph shows what the output was computed from.
#include "nn/batch_norm.h"

#include "autograd/node.h"
#include "core/dispatch.h"
#include "nn/functional.h"

namespace minidl::nn {

namespace functional {

// Training, per channel over its M values:  x̂ = (x − μ)·invstd,  y = x̂·w + b
//   db = Σ dy,  dw = Σ dy·x̂,  dx = w·invstd·(dy − db/M − x̂·dw/M)   (μ and σ² depend on x)
// Evaluation (running statistics, constants):  dx = w·invstd·dy
Tensor batch_norm(const Tensor& x, Tensor& running_mean, Tensor& running_var, const Tensor& weight, const Tensor& bias,
                  bool training, float momentum, float eps) {
  auto [y, mean, invstd] =
      dispatch::batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps, "batch_norm");
  // The running statistics are inputs but not read by the backward (it uses the statistics saved
  // here): a second forward's update of them leaves this graph's backward valid, as in PyTorch.
  autograd::record("batch_norm", y, {x, weight, bias, running_mean, running_var}, autograd::Saves{x, weight},
                   [x, weight, has_bias = bias.defined(), mean = mean, invstd = invstd, training](const Tensor& dy) {
                     const auto g =
                         dispatch::batch_norm_backward(dy, x, weight, mean, invstd, training, x.requires_grad(),
                                                       weight.defined() && weight.requires_grad(), has_bias);
                     return autograd::Grads{g.dx, g.dweight, g.dbias};
                   });
  return y;
}

}  // namespace functional

BatchNorm::BatchNorm(int64_t num_features, BatchNormOptions options) : num_features_(num_features), options_(options) {
  check(num_features > 0, "BatchNorm: num_features must be positive, got ", num_features);
  check(options.eps >= 0 && options.momentum >= 0 && options.momentum <= 1,
        "BatchNorm: eps must be >= 0 and momentum in [0, 1], got eps ", options.eps, ", momentum ", options.momentum);
  if (options.affine) {
    weight = Tensor::ones({num_features});
    bias = Tensor::zeros({num_features});
    register_parameter("weight", weight);
    register_parameter("bias", bias);
  }
  if (options.track_running_stats) {
    running_mean = Tensor::zeros({num_features});
    running_var = Tensor::ones({num_features});
    num_batches_tracked = Tensor::zeros({}, {.dtype = DType::int32});
    register_buffer("running_mean", running_mean);
    register_buffer("running_var", running_var);
    register_buffer("num_batches_tracked", num_batches_tracked);
  }
}

Tensor BatchNorm::forward(const Tensor& x) {
  check_input(x);
  // As torch.nn: the batch's statistics while training, or always when no running ones are kept.
  const bool use_batch_stats = is_training() || !running_mean.defined();
  if (is_training() && num_batches_tracked.defined()) {
    // An int32 counter: incremented in place on the host; on a GPU through a copy each way (a
    // synchronization per layer and step, which only matters once steps take microseconds).
    if (num_batches_tracked.device().is_cpu())
      ++num_batches_tracked.data<int32_t>()[0];
    else
      num_batches_tracked.copy_(Tensor::from_vector({num_batches_tracked.to_int_vector()[0] + 1}, Shape{}));
  }
  return functional::batch_norm(x, running_mean, running_var, weight, bias, use_batch_stats, options_.momentum,
                                options_.eps);
}

std::string BatchNorm::extra_repr() const {
  return str_cat(num_features_, ", eps=", options_.eps, ", momentum=", options_.momentum,
                 ", affine=", options_.affine ? "True" : "False",
                 ", track_running_stats=", options_.track_running_stats ? "True" : "False");
}

void BatchNorm1d::check_input(const Tensor& x) const {
  check(x.defined() && (x.dim() == 2 || x.dim() == 3) && x.size(1) == num_features(), "BatchNorm1d: input of shape ",
        x.defined() ? x.shape().str() : "undefined", " does not match num_features=", num_features(), " (expected [N, ",
        num_features(), "] or [N, ", num_features(), ", L])");
}

void BatchNorm2d::check_input(const Tensor& x) const {
  check(x.defined() && x.dim() == 4 && x.size(1) == num_features(), "BatchNorm2d: input of shape ",
        x.defined() ? x.shape().str() : "undefined", " does not match num_features=", num_features(), " (expected [N, ",
        num_features(), ", H, W])");
}

}  // namespace minidl::nn
