#include "cli/format.h"
#include "cli/model_view.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "autograd/softmax.h"
#include "core/grad_mode.h"
#include "nn/conv2d.h"
#include "nn/linear.h"

namespace minidl::cli {

namespace {

constexpr int64_t kSide = 28;
constexpr int64_t kMostUnits = 256;   // an MLP's first-layer tiles shown (the rest counted)
constexpr int64_t kMostFilters = 64;  // a CNN's filters and maps shown

// A test image as its file holds it: pixels in [0, 1] (the loader hands them out normalized).
std::vector<float> test_pixels(const data::ImageDataset& test, int64_t index) {
  std::vector<float> px = test.range(index, index + 1).inputs.to_vector();
  const data::ImageDatasetInfo& info = test.info();
  for (float& v : px) v = std::clamp(v * info.std + info.mean, 0.f, 1.f);
  return px;
}

float max_abs(const float* v, int64_t n) {
  float m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(v[i]));
  return m;
}

// An MLP's first layer: unit k computes w_k · x + b_k over the 784 pixels, so its weights, laid out
// as the image, show the pattern that excites it (positive) and the one that inhibits it (negative).
Tiles unit_tiles(const nn::Linear& linear) {
  Tiles t;
  t.of = linear.out_features();
  t.count = std::min(t.of, kMostUnits);
  t.height = t.width = kSide;
  t.title = "First-layer weights";
  const std::vector<float> w = linear.weight.to(Device::cpu()).to_vector();  // [O, 784]
  t.values.assign(w.begin(), w.begin() + t.count * kSide * kSide);
  for (int64_t k = 0; k < t.count; ++k)
    t.labels.push_back("unit " + std::to_string(k) + ": |w| up to " +
                       fixed(max_abs(t.values.data() + k * kSide * kSide, kSide * kSide), 3));
  t.caption =
      "Each tile is one unit of the first layer: its " + std::to_string(kSide * kSide) +
      " weights laid out as the 28×28 image they multiply. Red pixels push the unit up when lit, blue ones "
      "down; each tile has its own scale (±its largest |w|), white is 0." +
      (t.count < t.of ? " The first " + std::to_string(t.count) + " of " + std::to_string(t.of) + " units." : "");
  return t;
}

Tiles filter_tiles(const nn::Conv2d& conv) {
  const Shape& s = conv.weight.shape();  // [O, C/G, k, k]
  Tiles t;
  t.of = s[0] * s[1];
  t.count = std::min(t.of, kMostFilters);
  t.height = s[2], t.width = s[3];
  t.title = "First convolution's filters";
  const std::vector<float> w = conv.weight.to(Device::cpu()).to_vector();
  t.values.assign(w.begin(), w.begin() + t.count * t.height * t.width);
  for (int64_t k = 0; k < t.count; ++k)
    t.labels.push_back("filter " + std::to_string(k / s[1]) +
                       (s[1] > 1 ? ", channel " + std::to_string(k % s[1]) : "") + ": |w| up to " +
                       fixed(max_abs(t.values.data() + k * t.height * t.width, t.height * t.width), 3));
  t.caption = "Each tile is one " + std::to_string(t.height) + "×" + std::to_string(t.width) +
              " filter of the first convolution, slid over the image: red weights respond to light pixels at that "
              "offset, blue ones to dark; each tile on its own scale, white is 0." +
              (t.count < t.of ? " The first " + std::to_string(t.count) + " of " + std::to_string(t.of) + "." : "");
  return t;
}

bool is_elementwise_after_conv(const nn::Module& m) {
  const std::string type = m.type_name();
  return type == "ReLU" || type == "Sigmoid" || type == "Tanh" || type == "BatchNorm2d";
}

}  // namespace

nn::EvaluationObserver ModelViewCollector::observer() {
  return [this](const Tensor& logits, const Tensor& targets) {
    classes_ = logits.size(1);
    const std::vector<float> p = softmax(logits, 1).to_vector();
    probabilities_.insert(probabilities_.end(), p.begin(), p.end());
    const std::vector<int32_t> t = targets.to_int_vector();
    truth_.insert(truth_.end(), t.begin(), t.end());
  };
}

ModelView ModelViewCollector::finish(const nn::Evaluation& evaluation, nn::Sequential& model,
                                     const data::ImageDataset& test, const std::vector<std::string>& class_names) {
  ModelView view;
  view.confusion = evaluation.confusion;
  view.total = evaluation.total;
  view.correct = evaluation.correct;
  view.loss = evaluation.loss;
  view.class_names = class_names;

  // The wrong ones, most confident first (ties: lower index first, so the order is reproducible).
  const auto n = static_cast<int64_t>(truth_.size());
  std::vector<std::pair<float, int64_t>> wrong;
  for (int64_t i = 0; i < n; ++i) {
    const float* p = probabilities_.data() + i * classes_;
    const auto best = std::max_element(p, p + classes_) - p;
    if (best != truth_[static_cast<size_t>(i)]) wrong.emplace_back(p[best], i);
  }
  std::sort(wrong.begin(), wrong.end(),
            [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
  for (size_t w = 0; w < std::min(wrong.size(), kWrongShown); ++w) {
    const int64_t i = wrong[w].second;
    const float* p = probabilities_.data() + i * classes_;
    std::vector<int> order(static_cast<size_t>(classes_));
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + std::min<int64_t>(3, classes_), order.end(),
                      [&](int a, int b) { return p[a] > p[b]; });
    WrongGuess g{.index = i, .truth = truth_[static_cast<size_t>(i)], .pixels = test_pixels(test, i)};
    for (int k = 0; k < std::min<int64_t>(3, classes_); ++k) g.classes[k] = order[k], g.probabilities[k] = p[order[k]];
    view.wrong.push_back(std::move(g));
  }

  // What the first layer with weights learned.
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const auto& children = model.children();
  for (size_t c = 0; c < children.size(); ++c) {
    nn::Module& layer = *children[c].second;
    if (const auto* linear = dynamic_cast<const nn::Linear*>(&layer)) {
      if (linear->in_features() == kSide * kSide) view.learned.push_back(unit_tiles(*linear));
      break;
    }
    if (const auto* conv = dynamic_cast<const nn::Conv2d*>(&layer)) {
      view.learned.push_back(filter_tiles(*conv));
      // One test digit through the first convolution and what acts on its output element by
      // element (batch norm, the activation): the maps the next layer (pooling, most often) sees.
      const int64_t index = 0;
      view.digit = test_pixels(test, index);
      Tensor x = test.range(index, index + 1).inputs.view({1, 1, kSide, kSide}).to(conv->weight.device());
      std::string through;
      size_t last = c;
      for (size_t k = 0; k <= c; ++k) x = (*children[k].second)(x);
      while (last + 1 < children.size() && is_elementwise_after_conv(*children[last + 1].second)) {
        x = (*children[++last].second)(x);
        through += " → " + children[last].second->type_name();
      }
      const Shape& s = x.shape();  // [1, O, H, W]
      Tiles maps;
      maps.of = s[1];
      maps.count = std::min(maps.of, kMostFilters);
      maps.height = s[2], maps.width = s[3];
      const std::vector<float> v = x.to(Device::cpu()).to_vector();
      maps.values.assign(v.begin(), v.begin() + maps.count * maps.height * maps.width);
      maps.is_signed = std::any_of(maps.values.begin(), maps.values.end(), [](float f) { return f < 0; });
      maps.shared_scale = true;
      maps.title = "Feature maps of test image " + std::to_string(index);
      for (int64_t k = 0; k < maps.count; ++k) maps.labels.push_back("map " + std::to_string(k));
      maps.caption = "Test image " + std::to_string(index) + " (a " +
                     class_names[static_cast<size_t>(test.range(index, index + 1).targets.to_int_vector()[0])] +
                     ") through the first convolution" + through + ": one " + std::to_string(maps.height) + "×" +
                     std::to_string(maps.width) + " map per filter, in the filters' order, all on one scale " +
                     (maps.is_signed ? "(red positive, blue negative)" : "(black 0, white the largest)") +
                     ": bright where the image has the filter's pattern.";
      view.digit_caption = "Test image " + std::to_string(index);
      view.learned.push_back(std::move(maps));
      break;
    }
  }
  model.train(was_training);
  return view;
}

}  // namespace minidl::cli
