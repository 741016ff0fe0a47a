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
    Tensor pixels = data::load_image(path).reshape({1, kInputs}).to(device);
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
