// A Sequential model from a one-line description of its layers, for command lines and checkpoints:
//
//   conv(32,3,padding=1) relu maxpool(2) conv(64,3,padding=1) relu maxpool(2) flatten linear(128) relu
//   dropout(0.25) linear(10)
//
// Layers are separated by spaces or commas; arguments are numbers, positional or name=value:
//   conv(OUT, K, stride=1, padding=0, dilation=1, groups=1, bias=1)   Conv2d over [C, H, W] inputs
//   maxpool(K, stride=K, padding=0)   avgpool(K, stride=K, padding=0) MaxPool2d, AvgPool2d
//   batchnorm(eps=1e-5, momentum=0.1)                                 BatchNorm2d on [C, H, W], 1d on [F]
//   dropout(P=0.5)                                                    Dropout
//   flatten                                                           [C, H, W] → [C·H·W]
//   linear(OUT, bias=1)                                               Linear over [F] inputs
//   relu  sigmoid  tanh
// Every size that follows from the input is inferred (a conv's input channels, a linear's input
// features), and the modules are named "0", "1", … as in torch.nn.Sequential, so a checkpoint's
// tensors map one to one onto the equivalent PyTorch model.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <minidl/core/generator.h>
#include <minidl/core/shape.h>
#include <minidl/nn/sequential.h>

namespace minidl::nn {

/// The description of a named MNIST model, or "" for an unknown name:
///   "lenet": LeNet-5 with ReLU and max pooling:
///            conv(6,5,padding=2) relu maxpool(2) conv(16,5) relu maxpool(2) flatten linear(120) relu
///            linear(84) relu linear(10)
///   "cnn":   conv(32,3,padding=1) relu maxpool(2) conv(64,3,padding=1) relu maxpool(2) flatten
///            linear(128) relu dropout(0.25) linear(10)
/// exactly the models of shared/bench/pytorch_mnist_cnn.py (so checkpoints load into its
/// torch.nn.Sequential, and timings compare like with like).
std::string named_model_spec(const std::string& name);

/// What build_model would make, worked out without allocating anything: each state_dict entry's
/// name and shape (so a checkpoint can be checked against it before a model is built), the shape of
/// one example's output, and the number of trainable parameters.
struct ModelPlan {
  std::vector<std::pair<std::string, Shape>> state;
  Shape output;
  int64_t parameters = 0;
  /// The elements of every layer's output for one example, summed: what a training step keeps for
  /// its backward pass per example (×4 bytes), and an upper bound on what a forward pass writes.
  int64_t activations = 0;
  bool has_dropout = false;
};

/// Limits that keep a description (from a command line, or a checkpoint someone else wrote) from
/// asking for more memory than a machine has: every tensor's element count and the activations of
/// one example must stay below these.
constexpr int64_t kMaxModelTensorElements = int64_t{1} << 28;  // 1 GiB of float32
constexpr int64_t kMaxExampleActivations = int64_t{1} << 28;
/// At most this many layers: a description of 10^6 `relu`s (5 MB) is refused as it is parsed.
constexpr size_t kMaxLayers = 4096;

/// Plans `spec` for examples of `input_shape` (one example, without the batch dim: {1, 28, 28} for
/// MNIST images, {784} for flat ones). Throws Error naming the layer for a bad description, a layer
/// that does not fit its input, or a size past the limits above.
ModelPlan plan_model(const std::string& spec, const Shape& input_shape);

/// Builds the model `spec` describes: weights drawn from `init` in layer order (each layer as its
/// constructor documents), dropout masks from `noise` (default_generator() when null), which must
/// outlive the model.
std::shared_ptr<Sequential> build_model(const std::string& spec, const Shape& input_shape, Generator& init,
                                        Generator* noise = nullptr);

}  // namespace minidl::nn
