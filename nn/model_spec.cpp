// The model description's parser and builder. One walk over the layers serves both plan_model and
// build_model: it infers each layer's input from the previous layer's output shape, checks it, and
// either records the state it would create or creates the module.
#include "nn/model_spec.h"

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

struct Layer {
  std::string kind, text;  // "conv", "conv(32,3,padding=1)" (shortened past kShownChars)
  std::vector<double> positional;
  std::map<std::string, double> named;
  std::vector<std::string> positional_text;  // as written, for what only a whole number may be
  std::map<std::string, std::string> named_text;
};

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

// A layer's arguments by position or name, with defaults, checked to be whole numbers where they
// must be; anything left over is an error naming it.
class Args {
 public:
  Args(const Layer& layer, std::vector<std::string> names) : layer_(layer), names_(std::move(names)) {
    check(layer.positional.size() <= names_.size(), "model: ", layer.text, ": takes at most ", names_.size(),
          " positional arguments");
    for (const auto& [name, v] : layer.named) {
      bool known = false;
      for (const auto& n : names_) known = known || n == name;
      check(known, "model: ", layer.text, ": unknown argument '", name, "'");
    }
  }
  double number(const std::string& name, std::optional<double> fallback) const {
    for (size_t k = 0; k < names_.size(); ++k)
      if (names_[k] == name) {
        if (k < layer_.positional.size()) {
          check(!layer_.named.contains(name), "model: ", layer_.text, ": '", name, "' given twice");
          return layer_.positional[k];
        }
        if (const auto it = layer_.named.find(name); it != layer_.named.end()) return it->second;
        check(fallback.has_value(), "model: ", layer_.text, ": needs '", name, "'");
        return *fallback;
      }
    fail("model: ", layer_.text, ": no argument '", name, "'");  // a bug in this file
  }
  int64_t integer(const std::string& name, std::optional<double> fallback, int64_t min,
                  int64_t max = 1000000000) const {
    const double v = number(name, fallback);
    const std::string* text = written(name);
    const bool digits = !text || is_whole_number_text(*text);
    check(v == std::floor(v) && v >= static_cast<double>(min) && v <= static_cast<double>(max) && digits, "model: ",
          layer_.text, ": '", name, "' must be a whole number >= ", min,
          max < 1000000000 ? str_cat(" and <= ", max) : std::string(),
          digits || v != std::floor(v) ? "" : " in decimal digits", ", got ", digits ? str_cat(v) : shown(*text));
    return static_cast<int64_t>(v);
  }
  /// A number that must lie in [lo, hi] (`open_lo`: above lo).
  double in_range(const std::string& name, double fallback, double lo, double hi, bool open_lo) const {
    const double v = number(name, fallback);
    check((open_lo ? v > lo : v >= lo) && v <= hi, "model: ", layer_.text, ": '", name, "' must be in ",
          open_lo ? "(" : "[", lo, ", ", hi, "], got ", v);
    return v;
  }

 private:
  // The argument as written, or null when it was not (its default).
  const std::string* written(const std::string& name) const {
    for (size_t k = 0; k < names_.size() && k < layer_.positional.size(); ++k)
      if (names_[k] == name) return &layer_.positional_text[k];
    const auto it = layer_.named_text.find(name);
    return it == layer_.named_text.end() ? nullptr : &it->second;
  }
  const Layer& layer_;
  std::vector<std::string> names_;
};

// Walks the layers over `input`: plans them, and builds them when `model` is not null.
ModelPlan walk(const std::string& spec, const Shape& input, Sequential* model, Generator* init, Generator* noise) {
  ModelPlan plan;
  Shape x = input;  // one example's shape
  check(x.size() >= 1 && x.numel() > 0, "model: empty input shape ", x);
  const std::vector<Layer> layers = parse(spec);
  for (size_t index = 0; index < layers.size(); ++index) {
    const Layer& l = layers[index];
    const std::string prefix = std::to_string(index) + ".";
    const auto add_state = [&](const char* name, const Shape& shape, bool parameter) {
      check(shape.numel() < kMaxModelTensorElements, "model: ", l.text, ": ", name, " of shape ", shape,
            " is too large");
      plan.state.emplace_back(prefix + name, shape);
      if (parameter) plan.parameters += shape.numel();
    };
    const auto need_image = [&] {
      check(x.size() == 3, "model: ", l.text, " (layer ", index, ") needs [C, H, W] inputs, got ", x,
            x.size() == 1 ? "; it cannot come after flatten or linear" : "");
    };
    if (l.kind == "conv") {
      need_image();
      const Args a(l, {"out", "kernel", "stride", "padding", "dilation", "groups", "bias"});
      const int64_t out = a.integer("out", {}, 1), k = a.integer("kernel", {}, 1);
      const Conv2dOptions o{.stride = a.integer("stride", 1, 1),
                            .padding = a.integer("padding", 0, 0),
                            .dilation = a.integer("dilation", 1, 1),
                            .groups = a.integer("groups", 1, 1)};
      const bool bias = a.integer("bias", 1, 0, 1) != 0;
      check(x[0] % o.groups == 0 && out % o.groups == 0, "model: ", l.text, ": ", x[0], " input and ", out,
            " output channels must be divisible by groups=", o.groups);
      const int64_t reach = o.dilation * (k - 1) + 1;
      check(reach <= x[1] + 2 * o.padding && reach <= x[2] + 2 * o.padding, "model: ", l.text, ": kernel ", k, "x", k,
            " does not fit the input ", x, " with padding ", o.padding);
      add_state("weight", {out, x[0] / o.groups, k, k}, true);
      if (bias) add_state("bias", {out}, true);
      if (model) model->emplace<Conv2d>(x[0], out, k, o, bias, *init);
      x = {out, kernels::window_out_size(x[1], k, o.stride, o.padding, o.dilation),
           kernels::window_out_size(x[2], k, o.stride, o.padding, o.dilation)};
    } else if (l.kind == "maxpool" || l.kind == "avgpool") {
      need_image();
      const Args a(l, {"kernel", "stride", "padding"});
      const int64_t k = a.integer("kernel", {}, 1);
      const Pool2dOptions o{k, a.integer("stride", static_cast<double>(k), 1), a.integer("padding", 0, 0)};
      check(o.padding <= k / 2 && k <= x[1] + 2 * o.padding && k <= x[2] + 2 * o.padding, "model: ", l.text,
            ": window ", k, "x", k, " with padding ", o.padding, " does not fit the input ", x,
            " (padding may be at most half the window)");
      if (model) {
        if (l.kind == "maxpool")
          model->emplace<MaxPool2d>(o);
        else
          model->emplace<AvgPool2d>(o);
      }
      x = {x[0], kernels::window_out_size(x[1], k, o.stride, o.padding, 1),
           kernels::window_out_size(x[2], k, o.stride, o.padding, 1)};
    } else if (l.kind == "batchnorm") {
      const Args a(l, {"eps", "momentum"});
      const BatchNormOptions o{.eps = static_cast<float>(a.in_range("eps", 1e-5, 0, 1, /*open_lo=*/true)),
                               .momentum = static_cast<float>(a.in_range("momentum", 0.1, 0, 1, false))};
      check(x.size() == 3 || x.size() == 1, "model: ", l.text, " needs [C, H, W] or [F] inputs, got ", x);
      const int64_t c = x[0];
      add_state("weight", {c}, true);
      add_state("bias", {c}, true);
      add_state("running_mean", {c}, false);
      add_state("running_var", {c}, false);
      add_state("num_batches_tracked", Shape{}, false);
      if (model) {
        if (x.size() == 3)
          model->emplace<BatchNorm2d>(c, o);
        else
          model->emplace<BatchNorm1d>(c, o);
      }
    } else if (l.kind == "dropout") {
      const Args a(l, {"p"});
      const double p = a.number("p", 0.5);
      check(p >= 0 && p < 1, "model: ", l.text, ": p must be in [0, 1), got ", p);
      plan.has_dropout = true;
      if (model) model->emplace<Dropout>(static_cast<float>(p), noise ? *noise : default_generator());
    } else if (l.kind == "flatten") {
      Args(l, {});
      if (model) model->emplace<Flatten>();
      x = {x.numel()};
    } else if (l.kind == "linear") {
      check(x.size() == 1, "model: ", l.text, " (layer ", index, ") needs flat [F] inputs, got ", x,
            "; put flatten before it");
      const Args a(l, {"out", "bias"});
      const int64_t out = a.integer("out", {}, 1);
      const bool bias = a.integer("bias", 1, 0, 1) != 0;
      add_state("weight", {out, x[0]}, true);
      if (bias) add_state("bias", {out}, true);
      if (model) model->emplace<Linear>(x[0], out, bias, *init);
      x = {out};
    } else if (l.kind == "relu" || l.kind == "sigmoid" || l.kind == "tanh") {
      Args(l, {});
      if (model && l.kind == "relu") model->emplace<ReLU>();
      if (model && l.kind == "sigmoid") model->emplace<Sigmoid>();
      if (model && l.kind == "tanh") model->emplace<Tanh>();
    } else {
      fail("model: unknown layer '", shown(l.kind), "' (known: conv, maxpool, avgpool, batchnorm, dropout, flatten, linear, ",
           "relu, sigmoid, tanh)");
    }
    check(x.numel() >= 1, "model: ", l.text, " (layer ", index, ") leaves nothing of its input");
    check(x.numel() < kMaxExampleActivations, "model: ", l.text, ": an output of shape ", x,
          " per example is too large");
    plan.activations += x.numel();
  }
  plan.output = x;
  return plan;
}

}  // namespace

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
