// Evaluating a classifier on a dataset: mean cross-entropy, accuracy and the confusion matrix. The
// minidl program's per-epoch evaluation and `minidl eval` call this, and so can any loop of yours.
#pragma once

#include <cstdint>
#include <vector>

#include <minidl/core/shape.h>
#include <minidl/data/data_loader.h>
#include <minidl/nn/module.h>

namespace minidl::nn {

struct Evaluation {
  double loss = 0;      // mean cross-entropy per example
  double accuracy = 0;  // correct / total
  int64_t correct = 0, total = 0;
  std::vector<std::vector<int64_t>> confusion;  // [true class][predicted class], classes × classes
};

/// One pass over `loader` (make it unshuffled: the order does not matter, the cost of shuffling
/// does) without gradients and in evaluation mode (the model's mode is restored afterwards). Each
/// batch's inputs are viewed as `example_shape` per example when one is given ([1, 28, 28] for a
/// CNN fed MNIST's [B, 784] rows); targets are int32 classes.
Evaluation evaluate(Module& model, data::DataLoader& loader, const Shape& example_shape = {});

}  // namespace minidl::nn
