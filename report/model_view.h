// What a trained classifier shows about itself, for reports: its test confusion matrix, the test
// images it gets most confidently wrong (with its top three classes), and what its first layer
// learned: an MLP's first-layer units as 28×28 weight images, a CNN's first convolution's filters
// and their feature maps for one test digit. Gathered during an evaluation pass that runs anyway
// (nn::evaluate's observer), so a run with a report costs no extra pass over the test set.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <minidl/data/mnist.h>
#include <minidl/nn/evaluate.h>
#include <minidl/nn/sequential.h>

namespace minidl::report {

/// A test image the model classified wrongly.
struct WrongGuess {
  int64_t index = 0;  // in the test set
  int truth = 0;
  std::array<int, 3> classes{};  // the top three, most probable first
  std::array<float, 3> probabilities{};
  std::vector<float> pixels{};  // 28×28 in [0, 1], as the file holds it
};

/// Images of the same size: count × height × width values, drawn each on its own colour scale
/// (signed: symmetric around 0, for weights) or all on one (unsigned: activations).
struct Tiles {
  std::string title, caption;
  int64_t count = 0, height = 0, width = 0, of = 0;  // `of`: how many there are (count may show fewer)
  bool is_signed = true, shared_scale = false;
  std::vector<float> values;
  std::vector<std::string> labels;  // per tile, shown on hover
};

struct ModelView {
  std::vector<std::vector<int64_t>> confusion;  // [true][predicted]
  int64_t total = 0, correct = 0;
  double loss = 0;
  std::vector<WrongGuess> wrong;  // most confident first
  std::vector<Tiles> learned;     // first layer's weights; for a CNN also one digit's feature maps
  std::vector<float> digit;       // the test digit the feature maps are of (28×28), if any
  std::string digit_caption;
  std::vector<std::string> class_names;
};

/// Collects what the model predicts during an evaluation pass over an unshuffled test loader.
class ModelViewCollector {
 public:
  /// How many wrong images the view keeps.
  static constexpr size_t kWrongShown = 24;
  /// The observer to hand to nn::evaluate.
  nn::EvaluationObserver observer();
  /// The view, from the evaluation the observer saw and the model as it is now.
  ModelView finish(const nn::Evaluation& evaluation, nn::Sequential& model, const data::ImageDataset& test,
                   const std::vector<std::string>& class_names);

 private:
  std::vector<float> probabilities_;  // [example][class], softmax of the logits
  std::vector<int32_t> truth_;
  int64_t classes_ = 0;
};

}  // namespace minidl::report
