// The model description's parser, its table of layer kinds, and the walk that plans and builds. One
// walk over the layers serves both plan_model and build_model: it infers each layer's input from the
// previous layer's output shape, and the layer's kind checks it and either records the state it
// would create or creates the module.
#include "nn/model_spec.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <optional>

#include "kernels/conv_math.h"
#include "nn/activation.h"
#include "nn/batch_norm.h"
#include "nn/conv2d.h"
#include "nn/dropout.h"
#include "nn/linear.h"
#include "nn/pooling.h"

namespace minidl::nn {

namespace {

using Layer = LayerBuilder::Parsed;  // "conv", "conv(32,3,padding=1)", its arguments

// A description (or a part) as an error line shows it: at most kShownChars characters, so that a
// 5 MB description is not repeated in full.
constexpr size_t kShownChars = 120;
std::string shown(const std::string& text) {
  if (text.size() <= kShownChars) return text;
  return text.substr(0, kShownChars) + "… (" + std::to_string(text.size()) + " characters)";
}

// "16", not "16.0", "1e1" or "0x10": a size is written in decimal digits.
bool is_whole_number_text(const std::string& text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
}

std::vector<Layer> parse(const std::string& spec) {
  std::vector<Layer> layers;
  size_t i = 0;
  const auto skip_separators = [&] {
    while (i < spec.size() && (std::isspace(static_cast<unsigned char>(spec[i])) || spec[i] == ',')) ++i;
  };
  for (skip_separators(); i < spec.size(); skip_separators()) {
    const size_t start = i;
    Layer layer;
    while (i < spec.size() && (std::isalnum(static_cast<unsigned char>(spec[i])) || spec[i] == '_'))
      layer.kind += spec[i++];
    check(!layer.kind.empty(), "model: expected a layer name at '", spec.substr(start, 20), "' in '", shown(spec),
          "'");
    if (i < spec.size() && spec[i] == '(') {
      const size_t close = spec.find(')', i);
      check(close != std::string::npos, "model: '", shown(layer.kind), "(' is not closed in '", shown(spec), "'");
      std::string args = spec.substr(i + 1, close - i - 1);
      for (size_t a = 0; a <= args.size();) {
        size_t end = args.find(',', a);
        if (end == std::string::npos) end = args.size();
        std::string arg = args.substr(a, end - a);
        arg.erase(0, arg.find_first_not_of(" \t"));
        arg.erase(arg.find_last_not_of(" \t") + 1);
        a = end + 1;
        if (arg.empty()) {
          check(args.find_first_not_of(" \t") == std::string::npos, "model: empty argument in '",
                shown(spec.substr(start, close + 1 - start)), "'");
          break;
        }
        const size_t eq = arg.find('=');
        const std::string value = eq == std::string::npos ? arg : arg.substr(eq + 1);
        size_t used = 0;
        double v = 0;
        try {
          v = std::stod(value, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        check(used != 0 && used == value.size() && std::isfinite(v) && value.find_first_of("xX") == std::string::npos,
              "model: '", shown(arg), "' in '",
              shown(spec.substr(start, close + 1 - start)), "' is not a number");
        if (eq == std::string::npos) {
          check(layer.named.empty(), "model: positional argument '", arg, "' after a named one in '",
                shown(spec.substr(start, close + 1 - start)), "'");
          layer.positional.push_back(v);
          layer.positional_text.push_back(value);
        } else {
          layer.named_text[arg.substr(0, eq)] = value;
          check(layer.named.emplace(arg.substr(0, eq), v).second, "model: '", shown(arg.substr(0, eq)),
                "' given twice in '",
                shown(spec.substr(start, close + 1 - start)), "'");
        }
      }
      i = close + 1;
    }
    layer.text = shown(spec.substr(start, i - start));
    layers.push_back(std::move(layer));
    check(layers.size() <= kMaxLayers, "model: more than ", kMaxLayers, " layers in the description");
  }
  check(!layers.empty(), "model: the description names no layer");
  return layers;
}

// ---- the built-in layer kinds: each checks its input, declares its state, builds its module

void need_image(const LayerBuilder& b) {
  check(b.input().size() == 3, "model: ", b.text(), " (layer ", b.index(), ") needs [C, H, W] inputs, got ", b.input(),
        b.input().size() == 1 ? "; it cannot come after flatten or linear" : "");
}

Shape conv_layer(LayerBuilder& b) {
  need_image(b);
  const Shape& x = b.input();
  const int64_t out = b.integer("out", {}, 1), k = b.integer("kernel", {}, 1);
  const Conv2dOptions o{.stride = b.integer("stride", 1, 1),
                        .padding = b.integer("padding", 0, 0),
                        .dilation = b.integer("dilation", 1, 1),
                        .groups = b.integer("groups", 1, 1)};
  const bool bias = b.integer("bias", 1, 0, 1) != 0;
  check(x[0] % o.groups == 0 && out % o.groups == 0, "model: ", b.text(), ": ", x[0], " input and ", out,
        " output channels must be divisible by groups=", o.groups);
  const int64_t reach = o.dilation * (k - 1) + 1;
  check(reach <= x[1] + 2 * o.padding && reach <= x[2] + 2 * o.padding, "model: ", b.text(), ": kernel ", k, "x", k,
        " does not fit the input ", x, " with padding ", o.padding);
  b.state("weight", {out, x[0] / o.groups, k, k}, true);
  if (bias) b.state("bias", {out}, true);
  if (b.building()) b.add(std::make_shared<Conv2d>(x[0], out, k, o, bias, b.init()));
  return {out, kernels::window_out_size(x[1], k, o.stride, o.padding, o.dilation),
          kernels::window_out_size(x[2], k, o.stride, o.padding, o.dilation)};
}

template <class Pool>
Shape pool_layer(LayerBuilder& b) {
  need_image(b);
  const Shape& x = b.input();
  const int64_t k = b.integer("kernel", {}, 1);
  const Pool2dOptions o{k, b.integer("stride", static_cast<double>(k), 1), b.integer("padding", 0, 0)};
  check(o.padding <= k / 2 && k <= x[1] + 2 * o.padding && k <= x[2] + 2 * o.padding, "model: ", b.text(), ": window ",
        k, "x", k, " with padding ", o.padding, " does not fit the input ", x,
        " (padding may be at most half the window)");
  if (b.building()) b.add(std::make_shared<Pool>(o));
  return {x[0], kernels::window_out_size(x[1], k, o.stride, o.padding, 1),
          kernels::window_out_size(x[2], k, o.stride, o.padding, 1)};
}

Shape batchnorm_layer(LayerBuilder& b) {
  const Shape& x = b.input();
  const BatchNormOptions o{.eps = static_cast<float>(b.in_range("eps", 1e-5, 0, 1, /*open_lo=*/true)),
                           .momentum = static_cast<float>(b.in_range("momentum", 0.1, 0, 1, false))};
  check(x.size() == 3 || x.size() == 1, "model: ", b.text(), " needs [C, H, W] or [F] inputs, got ", x);
  const int64_t c = x[0];
  b.state("weight", {c}, true);
  b.state("bias", {c}, true);
  b.state("running_mean", {c}, false);
  b.state("running_var", {c}, false);
  b.state("num_batches_tracked", Shape{}, false);
  if (b.building()) {
    if (x.size() == 3)
      b.add(std::make_shared<BatchNorm2d>(c, o));
    else
      b.add(std::make_shared<BatchNorm1d>(c, o));
  }
  return x;
}

Shape dropout_layer(LayerBuilder& b) {
  const double p = b.number("p", 0.5);
  check(p >= 0 && p < 1, "model: ", b.text(), ": p must be in [0, 1), got ", p);
  Generator& noise = b.noise();
  if (b.building()) b.add(std::make_shared<Dropout>(static_cast<float>(p), noise));
  return b.input();
}

Shape flatten_layer(LayerBuilder& b) {
  if (b.building()) b.add(std::make_shared<Flatten>());
  return {b.input().numel()};
}

Shape linear_layer(LayerBuilder& b) {
  const Shape& x = b.input();
  check(x.size() == 1, "model: ", b.text(), " (layer ", b.index(), ") needs flat [F] inputs, got ", x,
        "; put flatten before it");
  const int64_t out = b.integer("out", {}, 1);
  const bool bias = b.integer("bias", 1, 0, 1) != 0;
  b.state("weight", {out, x[0]}, true);
  if (bias) b.state("bias", {out}, true);
  if (b.building()) b.add(std::make_shared<Linear>(x[0], out, bias, b.init()));
  return {out};
}

template <class Activation>
Shape activation_layer(LayerBuilder& b) {
  if (b.building()) b.add(std::make_shared<Activation>());
  return b.input();
}

// The layer kinds, built-ins first, one line each. An explicit table rather than self-registering
// statics, which the linker drops from a static library when nothing references their file.
std::vector<LayerKind>& layer_table() {
  static std::vector<LayerKind> kinds = {
      {"conv",
       {"out", "kernel", "stride", "padding", "dilation", "groups", "bias"},
       "conv(OUT, K, stride=1, padding=0, dilation=1, groups=1, bias=1)  Conv2d over [C, H, W] inputs",
       conv_layer},
      {"maxpool", {"kernel", "stride", "padding"}, "maxpool(K, stride=K, padding=0)  MaxPool2d", pool_layer<MaxPool2d>},
      {"avgpool", {"kernel", "stride", "padding"}, "avgpool(K, stride=K, padding=0)  AvgPool2d", pool_layer<AvgPool2d>},
      {"batchnorm",
       {"eps", "momentum"},
       "batchnorm(eps=1e-5, momentum=0.1)  BatchNorm2d on [C, H, W], 1d on [F]",
       batchnorm_layer},
      {"dropout", {"p"}, "dropout(P=0.5)  Dropout", dropout_layer},
      {"flatten", {}, "flatten  [C, H, W] → [C·H·W]", flatten_layer},
      {"linear", {"out", "bias"}, "linear(OUT, bias=1)  Linear over [F] inputs", linear_layer},
      {"relu", {}, "relu", activation_layer<ReLU>},
      {"sigmoid", {}, "sigmoid", activation_layer<Sigmoid>},
      {"tanh", {}, "tanh", activation_layer<Tanh>},
  };
  return kinds;
}

const LayerKind& layer_kind(const std::string& name) {
  for (const LayerKind& k : layer_table())
    if (k.name == name) return k;
  std::string known;
  for (const LayerKind& k : layer_table()) known += (known.empty() ? "" : ", ") + k.name;
  fail("model: unknown layer '", shown(name), "' (known: ", known,
       "; one defined in a plugin needs --plugin LIBRARY.so before the command)");
}

// Walks the layers over `input`: plans them, and builds them when `model` is not null.
ModelPlan walk(const std::string& spec, const Shape& input, Sequential* model, Generator* init, Generator* noise) {
  ModelPlan plan;
  Shape x = input;  // one example's shape
  check(x.size() >= 1 && x.numel() > 0, "model: empty input shape ", x);
  const std::vector<Layer> layers = parse(spec);
  for (size_t index = 0; index < layers.size(); ++index) {
    const Layer& l = layers[index];
    const LayerKind& kind = layer_kind(l.kind);
    LayerBuilder b(l, static_cast<int64_t>(index), kind.arguments, x, plan, model, init, noise);
    x = kind.build(b);
    check(x.numel() >= 1, "model: ", l.text, " (layer ", index, ") leaves nothing of its input");
    check(x.numel() < kMaxExampleActivations, "model: ", l.text, ": an output of shape ", x,
          " per example is too large");
    plan.activations += x.numel();
  }
  plan.output = x;
  return plan;
}

}  // namespace

LayerBuilder::LayerBuilder(const Parsed& layer, int64_t index, const std::vector<std::string>& arguments, Shape input,
                           ModelPlan& plan, Sequential* model, Generator* init, Generator* noise)
    : layer_(layer),
      text_(layer.text),
      index_(index),
      arguments_(arguments),
      input_(std::move(input)),
      plan_(plan),
      model_(model),
      init_(init),
      noise_(noise) {
  check(layer.positional.size() <= arguments.size(), "model: ", layer.text, ": takes at most ", arguments.size(),
        " positional arguments");
  for (const auto& [name, v] : layer.named) {
    bool known = false;
    for (const auto& n : arguments) known = known || n == name;
    check(known, "model: ", layer.text, ": unknown argument '", name, "'");
  }
}

double LayerBuilder::number(const std::string& name, std::optional<double> fallback) const {
  for (size_t k = 0; k < arguments_.size(); ++k)
    if (arguments_[k] == name) {
      if (k < layer_.positional.size()) {
        check(!layer_.named.contains(name), "model: ", text_, ": '", name, "' given twice");
        return layer_.positional[k];
      }
      if (const auto it = layer_.named.find(name); it != layer_.named.end()) return it->second;
      check(fallback.has_value(), "model: ", text_, ": needs '", name, "'");
      return *fallback;
    }
  fail("model: ", text_, ": no argument '", name, "' (the layer kind does not list it)");
}

int64_t LayerBuilder::integer(const std::string& name, std::optional<double> fallback, int64_t min,
                              int64_t max) const {
  const double v = number(name, fallback);
  const std::string* text = written(name);
  const bool digits = !text || is_whole_number_text(*text);
  check(v == std::floor(v) && v >= static_cast<double>(min) && v <= static_cast<double>(max) && digits, "model: ",
        text_, ": '", name, "' must be a whole number >= ", min,
        max < 1000000000 ? str_cat(" and <= ", max) : std::string(), digits || v != std::floor(v) ? "" : " in decimal digits",
        ", got ", digits ? str_cat(v) : shown(*text));
  return static_cast<int64_t>(v);
}

double LayerBuilder::in_range(const std::string& name, double fallback, double lo, double hi, bool open_lo) const {
  const double v = number(name, fallback);
  check((open_lo ? v > lo : v >= lo) && v <= hi, "model: ", text_, ": '", name, "' must be in ", open_lo ? "(" : "[",
        lo, ", ", hi, "], got ", v);
  return v;
}

const std::string* LayerBuilder::written(const std::string& name) const {
  for (size_t k = 0; k < arguments_.size() && k < layer_.positional.size(); ++k)
    if (arguments_[k] == name) return &layer_.positional_text[k];
  const auto it = layer_.named_text.find(name);
  return it == layer_.named_text.end() ? nullptr : &it->second;
}

void LayerBuilder::state(const std::string& name, const Shape& shape, bool parameter) {
  check(shape.numel() < kMaxModelTensorElements, "model: ", text_, ": ", name, " of shape ", shape, " is too large");
  plan_.state.emplace_back(std::to_string(index_) + "." + name, shape);
  if (parameter) plan_.parameters += shape.numel();
}

Generator& LayerBuilder::init() const {
  check(init_ != nullptr, "model: ", text_, ": init() is only there while building");
  return *init_;
}

Generator& LayerBuilder::noise() {
  plan_.has_dropout = true;
  return noise_ ? *noise_ : default_generator();
}

void LayerBuilder::add(std::shared_ptr<Module> module) {
  check(model_ != nullptr, "model: ", text_, ": add() while planning (check building() first)");
  model_->push_back(std::move(module));
}

void register_layer(LayerKind kind) {
  check(!kind.name.empty() && std::all_of(kind.name.begin(), kind.name.end(),
                                          [](char c) {
                                            return std::islower(static_cast<unsigned char>(c)) || c == '_' ||
                                                   std::isdigit(static_cast<unsigned char>(c));
                                          }),
        "register_layer: '", kind.name, "' is not a lowercase name (letters, digits, _)");
  check(static_cast<bool>(kind.build), "register_layer: no build function given for '", kind.name, "'");
  for (const LayerKind& k : layer_table())
    check(k.name != kind.name, "register_layer: '", kind.name, "' is already registered");
  layer_table().push_back(std::move(kind));
}

std::vector<std::string> layer_names() {
  std::vector<std::string> names;
  for (const LayerKind& k : layer_table()) names.push_back(k.name);
  return names;
}

std::string layers_help() {
  std::string out;
  for (const LayerKind& k : layer_table()) out += "  " + (k.help.empty() ? k.name : k.help) + "\n";
  return out;
}

std::string named_model_spec(const std::string& name) {
  if (name == "cnn")
    return "conv(32,3,padding=1) relu maxpool(2) conv(64,3,padding=1) relu maxpool(2) flatten linear(128) relu "
           "dropout(0.25) linear(10)";
  if (name == "lenet")
    return "conv(6,5,padding=2) relu maxpool(2) conv(16,5) relu maxpool(2) flatten linear(120) relu linear(84) relu "
           "linear(10)";
  return "";
}

ModelPlan plan_model(const std::string& spec, const Shape& input_shape) {
  return walk(spec, input_shape, nullptr, nullptr, nullptr);
}

std::shared_ptr<Sequential> build_model(const std::string& spec, const Shape& input_shape, Generator& init,
                                        Generator* noise) {
  walk(spec, input_shape, nullptr, nullptr, nullptr);  // every check first, before any allocation
  auto model = std::make_shared<Sequential>();
  walk(spec, input_shape, model.get(), &init, noise);
  return model;
}

}  // namespace minidl::nn
