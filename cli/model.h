// The model of a run: `--model mlp` (784 → --hidden → 10, the default), `lenet`, `cnn`, or a layer
// description (nn/model_spec.h). Every one is built through nn::build_model, so train, eval,
// predict, explain-step and compare rebuild a checkpoint's model from its settings alone.
#pragma once

#include <memory>
#include <string>

#include "cli/config.h"
#include "core/generator.h"
#include "nn/model_spec.h"
#include "nn/sequential.h"

namespace minidl::cli {

/// The layer description of config.model: for mlp, "linear(256) relu linear(10)" from --hidden;
/// lenet and cnn are the models of shared/bench/pytorch_mnist_cnn.py.
std::string model_spec(const TrainConfig& config);
/// One example's shape as the model takes it: [784] for a model that starts with linear (an MLP),
/// else the image, [1, 28, 28].
Shape model_input_shape(const TrainConfig& config);
/// The memory a model may ask for (docs/reliability.md, "The cost of a checkpoint"): 4 GiB unless
/// --memory-budget-mb says otherwise.
constexpr double kDefaultMemoryBudgetMiB = 4096;
void set_memory_budget_mib(double mib);
/// The batch an evaluation runs in: 250 images, or 1000 flat examples.
int64_t evaluation_batch(const TrainConfig& config);
/// Plans the model (nn::plan_model) and checks that it ends in the 10 classes and that a training
/// step of config.batch_size examples and an evaluation batch fit the memory budget: weights,
/// gradients and two optimizer slots (4 × 4 bytes a parameter) plus twice the activations of the
/// batch (outputs and their gradients) for training; the weights plus the batch's activations for
/// evaluation. Error otherwise, with the numbers.
nn::ModelPlan plan_run_model(const TrainConfig& config);
/// The model, weights from `init`, dropout masks from `noise` (which must outlive it).
std::shared_ptr<nn::Sequential> make_model(const TrainConfig& config, Generator& init, Generator* noise);
/// A batch of [B, 784] rows viewed as the model's input shape (no copy).
Tensor model_input(const Tensor& rows, const Shape& example_shape);
/// "784-256-10" for an MLP, else the model's name or description, for the run's header line.
std::string model_name(const TrainConfig& config);

/// --model's help text: the named models and how to describe others, with every layer kind
/// registered now (plugins loaded before the command line is parsed included).
std::string model_help();

/// A named model's training recipe, for every setting the command line did not give (`given`
/// holds the flags that were, by name: "lr", "epochs", …). --model cnn and lenet: Nesterov with
/// lr 0.05 (other optimizers keep their own lr) on a cosine schedule over 8 epochs, shifting the training images by up
/// to 2 pixels.
void apply_recipe(TrainConfig& config, const std::vector<std::string>& given);

}  // namespace minidl::cli
