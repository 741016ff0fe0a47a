// minidl predict: classify image files with a trained checkpoint. Each image is read as grayscale,
// resized to 28×28, scaled to [0, 1] and normalized like the training data.
#include <algorithm>
#include <cstdio>

#include "autograd/elementwise.h"
#include "autograd/softmax.h"
#include "cli/checkpoint.h"
#include "cli/commands.h"
#include "cli/model.h"
#include "core/grad_mode.h"
#include "data/image.h"
#include "nn/sequential.h"

namespace minidl::cli {

namespace {

// A blank image (one value everywhere) gets a class like any other, with a confident-looking
// probability: say that it means nothing. The usual cause is a dark digit on a light or transparent
// background without --invert.
void warn_if_blank(const Tensor& pixels, const std::string& path, bool invert) {
  const std::vector<float> v = pixels.to_vector();
  if (std::any_of(v.begin(), v.end(), [&](float p) { return p != v.front(); })) return;
  std::fprintf(stderr, "minidl predict: warning: %s is blank (every pixel %.3f, transparency composited onto %s): "
               "its class below is a guess%s\n", path.c_str(), v.front(), invert ? "white" : "black",
               invert ? "" : "; a dark digit on a light or transparent background needs --invert");
}

}  // namespace

int run_predict(const PredictArgs& args) {
  if (args.images.empty()) throw UsageError("give at least one image file");
  const Device device = parse_device(args.device);
  const Checkpoint ck = load_checkpoint(args.checkpoint);
  Generator unused(0);
  const auto model = make_model(ck.config, unused, &unused);
  const Shape example = model_input_shape(ck.config);
  model->to(device);
  load_parameters(*model, ck.parameters, args.checkpoint);
  model->eval();
  const data::ImageDatasetInfo& info = dataset_info(ck.config.dataset);
  const std::vector<std::string> names = class_names(ck.config.dataset);

  NoGradGuard no_grad;
  for (const std::string& path : args.images) {
    // Transparency is composited onto the background the image is said to have: dark (MNIST's), or
    // light with --invert, which then turns it dark like the rest.
    Tensor pixels = data::load_image(path, 28, args.invert ? 1.f : 0.f).reshape({1, kInputs});
    warn_if_blank(pixels, path, args.invert);
    pixels = pixels.to(device);
    if (args.invert) pixels = 1.f - pixels;  // MNIST digits are light on dark
    const Tensor input = model_input(data::normalize_pixels(pixels, info), example);
    const std::vector<float> p = softmax((*model)(input), 1).to_vector();
    const int best = static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
    std::printf("%s: %s  (probability %.4f)\n ", path.c_str(), names[best].c_str(), p[best]);
    for (int c = 0; c < kClasses; ++c) std::printf(" %s:%.4f", names[c].c_str(), p[c]);
    std::printf("\n");
  }
  return 0;
}

}  // namespace minidl::cli
