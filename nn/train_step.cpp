#include "nn/train_step.h"

#include <cmath>
#include <vector>

#include "nn/clip_grad.h"
#include "nn/functional.h"

namespace minidl::nn {

double train_step(Module& model, optim::Optimizer& optimizer, const Tensor& inputs, const Tensor& targets,
                  const StepOptions& options) {
  // Kept between calls (per thread), so a step allocates nothing once they have grown.
  static thread_local std::vector<Tensor> params;
  static thread_local std::vector<double> squares;
  params.clear();
  for (const optim::ParamGroup& group : optimizer.param_groups())
    for (const Tensor& p : group.params) params.push_back(p);
  struct Step {  // the closure captures this one pointer, which std::function stores without allocating
    Module& model;
    optim::Optimizer& optimizer;
    const Tensor &inputs, &targets;
    const StepOptions& options;
    double loss = 0;
  } step{model, optimizer, inputs, targets, options};
  optimizer.step([s = &step]() -> Tensor {
    s->optimizer.zero_grad();
    GradientSync* sync = s->options.sync;
    const int64_t examples = s->inputs.dim() > 0 ? s->inputs.size(0) : 0;
    if (sync) sync->begin_step(examples);
    Tensor loss;
    if (!sync || examples > 0) {
      const Tensor outputs = s->model(s->inputs);
      loss = s->options.loss ? s->options.loss(outputs, s->targets) : functional::cross_entropy(outputs, s->targets);
      s->loss = loss.item();
    }
    const auto check_loss = [s] {
      if (s->options.check_finite && !std::isfinite(s->loss))
        throw NonFiniteError(std::isnan(s->loss) ? "the loss is nan" : str_cat("the loss is ", s->loss));
    };
    if (!sync) check_loss();
    if (loss.defined()) loss.backward();
    if (sync) {  // every replica's loss and gradients combined: the checks below agree everywhere
      s->loss = sync->finish_step(s->loss);
      check_loss();
    }
    if (s->options.check_finite || s->options.clip_grad_norm > 0) {
      grad_squared_norms(params, squares);
      double total = 0;
      for (double sq : squares) total += sq;
      if (s->options.check_finite && !std::isfinite(total)) {
        size_t bad = 0;
        while (bad + 1 < squares.size() && std::isfinite(squares[bad])) ++bad;
        std::string name = str_cat("parameter ", bad);
        for (const auto& [n, p] : s->model.named_parameters())
          if (p.is_same(params[bad])) name = n;
        throw NonFiniteError(str_cat("the gradient of '", name, "' is not finite (the loss, ", s->loss, ", was)"));
      }
      if (s->options.clip_grad_norm > 0) clip_grad_norm(params, s->options.clip_grad_norm, std::sqrt(total));
    }
    if (s->options.after_backward) s->options.after_backward();
    return loss;
  });
  return step.loss;
}

}  // namespace minidl::nn
