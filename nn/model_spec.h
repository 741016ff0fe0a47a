// A Sequential model from a one-line description of its layers, for command lines and checkpoints:
//
//   conv(32,3,padding=1) relu maxpool(2) conv(64,3,padding=1) relu maxpool(2) flatten linear(128) relu
//   dropout(0.25) linear(10)
//
// Layers are separated by spaces or commas; arguments are numbers, positional or name=value. The
// vocabulary is one table of layer kinds (register_layer): the built-ins in nn/model_spec.cpp, one
// line each, and any a program or a --plugin library registers. layers_help() lists them with their
// arguments, for --help and the docs; the built-ins are
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

#include <functional>
#include <map>
#include <memory>
#include <optional>
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

/// One layer of a description as it is planned or built: its text and arguments, the shape of one
/// example it gets, and what it creates. A layer kind's function reads its arguments, checks its
/// input (throwing Error naming text()), declares its state, adds its module when building(), and
/// returns its output shape. plan_model calls it with building() false (nothing allocated),
/// build_model again with it true.
class LayerBuilder {
 public:
  const std::string& text() const { return text_; }  // "conv(32,3,padding=1)"
  int64_t index() const { return index_; }           // its position, and its module's name
  const Shape& input() const { return input_; }      // one example's shape, without the batch dim
  /// Argument `name` (one of the kind's argument names), given by position or name, else
  /// `fallback`; without a fallback it must be given.
  double number(const std::string& name, std::optional<double> fallback = std::nullopt) const;
  /// The same, checked to be a whole number in [min, max], written in decimal digits ("16", not
  /// "1e1" or "0x10").
  int64_t integer(const std::string& name, std::optional<double> fallback, int64_t min,
                  int64_t max = 1000000000) const;
  /// A number in [lo, hi] (`open_lo`: above lo), e.g. batch norm's eps in (0, 1].
  double in_range(const std::string& name, double fallback, double lo, double hi, bool open_lo) const;
  /// Declares a tensor of the layer's module's state_dict ("weight"; parameter: trained), checking
  /// its size against the limits above. Every tensor the module has must be declared, in the order
  /// of its state_dict, so that checkpoints are checked before a model is built.
  void state(const std::string& name, const Shape& shape, bool parameter);
  bool building() const { return model_ != nullptr; }
  /// Generators, only when building: init for weights (in layer order), noise for random masks
  /// (calling it also marks the plan as has_dropout, so that a checkpoint keeps the noise's state).
  Generator& init() const;
  Generator& noise();
  /// Appends the layer's module (only when building).
  void add(std::shared_ptr<Module> module);

  // What plan_model and build_model set up; not for layer functions.
  struct Parsed {
    std::string kind, text;  // "conv", "conv(32,3,padding=1)" (shortened to 120 characters in errors)
    std::vector<double> positional;
    std::map<std::string, double> named;
    std::vector<std::string> positional_text;  // the arguments as written, for what only digits may spell
    std::map<std::string, std::string> named_text;
  };
  LayerBuilder(const Parsed& layer, int64_t index, const std::vector<std::string>& arguments, Shape input,
               ModelPlan& plan, Sequential* model, Generator* init, Generator* noise);

 private:
  const std::string* written(const std::string& name) const;  // the argument as written, or null
  const Parsed& layer_;
  std::string text_;
  int64_t index_;
  const std::vector<std::string>& arguments_;
  Shape input_;
  ModelPlan& plan_;
  Sequential* model_;
  Generator* init_;
  Generator* noise_;
};

/// A kind of layer for descriptions: its name, its argument names in positional order, one line of
/// help ("conv(OUT, K, stride=1, …)   Conv2d over [C, H, W] inputs"), and the function that plans
/// and builds it, returning the output shape of one example.
struct LayerKind {
  std::string name;
  std::vector<std::string> arguments;
  std::string help;
  std::function<Shape(LayerBuilder&)> build;
};

/// Adds a layer kind (throws if the name is taken or not a lowercase word). From then on
/// descriptions, --model, checkpoints (which store the description) and --help know it; a program
/// calls it, or a --plugin library does in a static initializer (examples/custom_layer).
void register_layer(LayerKind kind);
/// Known layer names, in registration order.
std::vector<std::string> layer_names();
/// One line per layer kind, "  <help>\n", for --help and the docs.
std::string layers_help();

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
