#include "cli/model.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace minidl::cli {

std::string model_spec(const TrainConfig& c) {
  if (const std::string named = nn::named_model_spec(c.model); !named.empty()) return named;
  if (c.model != "mlp") return c.model;
  std::string spec;
  for (int64_t h : c.hidden) spec += str_cat("linear(", h, ") relu ");
  return spec + str_cat("linear(", kClasses, ")");
}

Shape model_input_shape(const TrainConfig& c) {
  const std::string spec = model_spec(c);
  const size_t first = spec.find_first_not_of(" ,");
  return spec.compare(first == std::string::npos ? 0 : first, 6, "linear") == 0 ? Shape{kInputs} : Shape{1, 28, 28};
}

namespace {

double memory_budget_mib = kDefaultMemoryBudgetMiB;

std::string mib(double bytes) { return str_cat(static_cast<int64_t>(std::ceil(bytes / (1 << 20))), " MiB"); }

}  // namespace

void set_memory_budget_mib(double mib) { memory_budget_mib = mib; }

int64_t evaluation_batch(const TrainConfig& c) { return model_input_shape(c).size() > 1 ? 250 : 1000; }

nn::ModelPlan plan_run_model(const TrainConfig& c) {
  nn::ModelPlan plan = nn::plan_model(model_spec(c), model_input_shape(c));
  check(plan.output == Shape{kClasses}, "model: its output per example is ", plan.output, "; a classifier of ",
        kClasses, " classes must end in [", kClasses, "] (e.g. flatten linear(", kClasses, "))");
  check(plan.parameters <= kMaxParameters, "model: ", plan.parameters, " parameters are more than the ", kMaxParameters,
        " a run may have");
  const double weights = 4.0 * static_cast<double>(plan.parameters);
  const double per_example = 4.0 * static_cast<double>(plan.activations);
  const double budget = memory_budget_mib * (1 << 20);
  const double train = 4 * weights + 2 * per_example * static_cast<double>(c.batch_size);
  const double eval = weights + per_example * static_cast<double>(evaluation_batch(c));
  const auto numbers = [&] {
    return str_cat(plan.parameters, " parameters (", mib(weights), "), ", mib(per_example),
                   " of activations per example; the budget is ", mib(budget), ", --memory-budget-mb raises it");
  };
  check(train <= budget, "model: a training step of ", c.batch_size, " examples needs about ", mib(train), ": ",
        numbers());
  check(eval <= budget, "model: an evaluation batch of ", evaluation_batch(c), " examples needs about ", mib(eval),
        ": ", numbers());
  return plan;
}

std::shared_ptr<nn::Sequential> make_model(const TrainConfig& c, Generator& init, Generator* noise) {
  plan_run_model(c);
  return nn::build_model(model_spec(c), model_input_shape(c), init, noise);
}

Tensor model_input(const Tensor& rows, const Shape& example_shape) {
  if (example_shape.size() == 1) return rows;
  Shape shape = example_shape;
  shape.insert(0, rows.shape()[0]);
  return rows.view(shape);
}

std::string model_name(const TrainConfig& c) {
  if (c.model != "mlp") return c.model;
  std::ostringstream name;
  name << kInputs;
  for (int64_t h : c.hidden) name << '-' << h;
  name << '-' << kClasses;
  return name.str();
}

std::string model_help() {
  std::string layers;
  for (const std::string& name : nn::layer_names()) layers += (layers.empty() ? "" : ", ") + name;
  return "mlp (784 → --hidden → 10), lenet (LeNet-5), cnn (conv32-pool-conv64-pool-fc128-dropout-fc10); lenet and "
         "cnn bring a recipe for the flags not given: nesterov with --lr 0.05, --schedule cosine, --epochs 8, "
         "--augment-shift 2. Or layers, e.g. 'conv(16,5) relu maxpool(2) flatten linear(10)' (" +
         layers + "; their arguments below; docs/convolution.md)";
}

void apply_recipe(TrainConfig& c, const std::vector<std::string>& given) {
  if (c.model != "cnn" && c.model != "lenet") return;
  const auto unset = [&](const char* flag) { return std::find(given.begin(), given.end(), flag) == given.end(); };
  if (unset("lr") && c.optimizer == "nesterov") c.lr = 0.05f;  // the recipe's; others keep their own default
  if (unset("schedule")) c.schedule = "cosine";
  if (unset("epochs")) c.epochs = 8;
  if (unset("augment-shift")) c.augment_shift = 2;
}

}  // namespace minidl::cli
