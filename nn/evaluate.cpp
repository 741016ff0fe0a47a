#include "nn/evaluate.h"

#include "autograd/reduce.h"
#include "core/grad_mode.h"
#include "nn/functional.h"

namespace minidl::nn {

Evaluation evaluate(Module& model, data::DataLoader& loader, const Shape& example_shape,
                    const EvaluationObserver& observe) {
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  Evaluation e;
  double loss_sum = 0;
  for (const data::Batch& batch : loader) {
    if (batch.targets.numel() == 0) continue;  // a data-parallel rank's empty part of a batch
    Tensor inputs = batch.inputs;
    if (example_shape.size() > 0) {
      Shape shape = example_shape;
      shape.insert(0, inputs.shape()[0]);
      inputs = inputs.view(shape);
    }
    const Tensor logits = model(inputs);
    const int64_t n = batch.targets.numel(), classes = logits.size(-1);
    if (e.confusion.empty()) e.confusion.assign(static_cast<size_t>(classes), std::vector<int64_t>(classes, 0));
    loss_sum += static_cast<double>(functional::cross_entropy(logits, batch.targets).item()) * n;
    const std::vector<int32_t> predicted = argmax(logits, 1).to_int_vector(), truth = batch.targets.to_int_vector();
    for (int64_t i = 0; i < n; ++i) {
      e.correct += predicted[i] == truth[i];
      ++e.confusion[truth[i]][predicted[i]];  // cross_entropy checked every target against the classes
    }
    e.total += n;
    if (observe) observe(logits, batch.targets);
  }
  model.train(was_training);
  e.loss = e.total ? loss_sum / static_cast<double>(e.total) : 0;
  e.accuracy = e.total ? static_cast<double>(e.correct) / static_cast<double>(e.total) : 0;
  return e;
}

}  // namespace minidl::nn
