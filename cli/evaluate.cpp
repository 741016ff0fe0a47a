#include "cli/evaluate.h"

#include <cstdio>
#include <string>

#include "autograd/reduce.h"
#include "cli/model.h"
#include "core/grad_mode.h"
#include "data/data_loader.h"
#include "nn/functional.h"

namespace minidl::cli {

Evaluation evaluate(nn::Module& model, const data::Dataset& dataset, const Shape& example_shape, int64_t batch_size) {
  if (batch_size == 0) batch_size = example_shape.size() > 1 ? 250 : 1000;
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  Evaluation e;
  const std::vector<Tensor> params = model.parameters();
  const Device device = params.empty() ? Device::cpu() : params.front().device();
  data::DataLoader loader(dataset, {.batch_size = batch_size, .device = device});
  double loss_sum = 0;
  for (const data::Batch& batch : loader) {
    const Tensor logits = model(model_input(batch.inputs, example_shape));
    const int64_t n = batch.targets.numel();
    loss_sum += static_cast<double>(nn::functional::cross_entropy(logits, batch.targets).item()) * n;
    const std::vector<int32_t> predicted = argmax(logits, 1).to_int_vector(), truth = batch.targets.to_int_vector();
    for (int64_t i = 0; i < n; ++i) {
      e.correct += predicted[i] == truth[i];
      if (truth[i] < 10 && predicted[i] < 10) ++e.confusion[truth[i]][predicted[i]];
    }
    e.total += n;
  }
  model.train(was_training);
  e.loss = e.total ? loss_sum / e.total : 0;
  e.accuracy = e.total ? static_cast<double>(e.correct) / e.total : 0;
  return e;
}

void print_confusion(std::ostream& os, const Evaluation& e, const std::vector<std::string>& names) {
  std::vector<std::string> labels;  // "3", or "3 Dress" when classes have names
  size_t width = 0;
  for (int r = 0; r < 10; ++r) {
    std::string label = std::to_string(r);
    if (names[r] != label) label.append(" ").append(names[r]);
    labels.push_back(label);
    width = std::max(width, labels.back().size());
  }
  char buf[32];
  os << "confusion matrix (rows: true class, columns: predicted)\n" << std::string(width, ' ');
  for (int c = 0; c < 10; ++c) {
    std::snprintf(buf, sizeof buf, "%6d", c);
    os << buf;
  }
  os << '\n';
  for (int r = 0; r < 10; ++r) {
    os << labels[r] << std::string(width - labels[r].size(), ' ');
    for (int c = 0; c < 10; ++c) {
      std::snprintf(buf, sizeof buf, "%6lld", static_cast<long long>(e.confusion[r][c]));
      os << buf;
    }
    os << '\n';
  }
}

}  // namespace minidl::cli
