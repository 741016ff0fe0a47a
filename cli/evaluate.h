// Evaluating a classifier on a dataset: mean cross-entropy, accuracy and the confusion matrix.
#pragma once

#include <array>
#include <ostream>
#include <vector>

#include "core/shape.h"
#include "data/dataset.h"
#include "nn/module.h"

namespace minidl::cli {

struct Evaluation {
  double loss = 0;      // mean cross-entropy per example
  double accuracy = 0;  // correct / total
  int64_t correct = 0, total = 0;
  std::vector<std::array<int64_t, 10>> confusion = std::vector<std::array<int64_t, 10>>(10);  // [true][predicted]
};

/// One pass over `dataset` in order, without gradients, in eval mode (restored afterwards).
/// Batches go to the device of the model's parameters, viewed as `example_shape` per example
/// (cli/model.h's model_input_shape). batch_size 0: 1000 rows for an MLP, 250 images for a CNN,
/// whose activations per image are larger.
Evaluation evaluate(nn::Module& model, const data::Dataset& dataset, const Shape& example_shape,
                    int64_t batch_size = 0);

/// The confusion matrix as a table, rows = true class, columns = predicted class.
void print_confusion(std::ostream& os, const Evaluation& e, const std::vector<std::string>& class_names);

}  // namespace minidl::cli
