#include "distributed/evaluate.h"

#include <vector>

#include "distributed/collectives.h"
#include "distributed/world.h"

namespace minidl::distributed {

nn::Evaluation evaluate(nn::Module& model, data::DataLoader& loader, const Shape& example_shape,
                        const nn::EvaluationObserver& observe) {
  nn::Evaluation e = nn::evaluate(model, loader, example_shape, observe);
  if (world_size() == 1) return e;
  // The loss sums in one slot per rank (the others add zeros, exactly), so that every rank adds
  // them in rank order and gets the same bits; the counts are integers.
  std::vector<double> loss_sums(static_cast<size_t>(world_size()), 0.0);
  loss_sums[static_cast<size_t>(rank())] = e.loss * static_cast<double>(e.total);
  all_reduce(std::span<double>(loss_sums), ReduceOp::sum);
  std::vector<int32_t> counts = {static_cast<int32_t>(e.correct), static_cast<int32_t>(e.total)};
  for (const auto& row : e.confusion)
    for (int64_t c : row) counts.push_back(static_cast<int32_t>(c));
  all_reduce(std::span<int32_t>(counts), ReduceOp::sum);
  double loss_sum = 0;
  for (double s : loss_sums) loss_sum += s;
  e.correct = counts[0];
  e.total = counts[1];
  size_t k = 2;
  for (auto& row : e.confusion)
    for (int64_t& c : row) c = counts[k++];
  e.loss = e.total > 0 ? loss_sum / static_cast<double>(e.total) : 0.0;
  e.accuracy = e.total > 0 ? static_cast<double>(e.correct) / static_cast<double>(e.total) : 0.0;
  return e;
}

}  // namespace minidl::distributed
