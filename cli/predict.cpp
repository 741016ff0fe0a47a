// minidl predict: classify image files with a trained checkpoint. Each image is read as grayscale in
// [0, 1] and prepared as MNIST's digits were (data::mnist_preprocess: the digit's bounding box fitted
// into 20×20 keeping its aspect ratio, centred by its centre of mass in 28×28; --raw-resize, and a
// Fashion-MNIST checkpoint, squeeze the whole image to 28×28 instead), then normalized like the training data. Beside
// the probabilities it draws the 28×28 image the model was given, so a user sees what it saw, and it warns (it does not
// silently flip) when an image looks dark-on-light without --invert: the model was trained on light digits on a dark
// background, and a confident answer for the negative of a digit means nothing. A warning, not detection, because a
// flip the user did not ask for would make the answer depend on a guess about the background.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "autograd/elementwise.h"
#include "autograd/softmax.h"
#include "cli/checkpoint.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/model.h"
#include "cli/train_gpt.h"
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
  std::fprintf(stderr,
               "minidl predict: warning: %s is blank (every pixel %.3f, transparency composited onto %s): "
               "its class below is a guess%s\n",
               path.c_str(), v.front(), invert ? "white" : "black",
               invert ? "" : "; a dark digit on a light or transparent background needs --invert");
}

// The mean of the image's outer frame (two pixels of 28, in proportion for other sizes), in [0, 1]
// after --invert: MNIST's is 0, a digit photographed or drawn dark on white paper has one near 1.
// Measured on the image as loaded, before the digit is fitted and centred: light paper is above the
// threshold, so fitting would make the paper the "digit" and leave a dark frame around it.
float border_mean(const Tensor& image) {
  const std::vector<float> v = image.to_vector();
  const int64_t h = image.size(0), w = image.size(1);
  const int64_t frame = std::max<int64_t>(1, std::llround(2.0 * static_cast<double>(std::min(h, w)) / 28));
  double sum = 0;
  int64_t n = 0;
  for (int64_t r = 0; r < h; ++r)
    for (int64_t c = 0; c < w; ++c)
      if (r < frame || r >= h - frame || c < frame || c >= w - frame) sum += v[static_cast<size_t>(r * w + c)], ++n;
  return static_cast<float>(sum / static_cast<double>(n));
}

void warn_if_dark_on_light(const Tensor& image, const std::string& path, bool invert) {
  const std::vector<float> v = image.to_vector();
  if (std::all_of(v.begin(), v.end(), [&](float p) { return p == v.front(); })) return;  // blank: warned already
  const float border = border_mean(image);
  if (border <= 0.5f) return;
  std::fprintf(
      stderr,
      "minidl predict: warning: %s looks dark-on-light as the model sees it (its border averages %.2f; "
      "MNIST's is 0): the model knows light digits on a dark background, so its class below means little; %s\n",
      path.c_str(), border, invert ? "leave out --invert" : "rerun with --invert");
}

// The 28×28 image as the model got it, two characters per pixel (a terminal cell is about twice as
// tall as wide), dark to light through " .:-=+*#%@"; the probabilities as bars beside rows 9–18.
void print_picture(const std::vector<float>& v, const std::vector<float>& p, const std::vector<std::string>& names,
                   const PredictArgs& args, bool fitted) {
  static const char ramp[] = " .:-=+*#%@";
  int width = 0;  // the longest class name (Fashion-MNIST's are words)
  for (const std::string& name : names) width = std::max(width, static_cast<int>(name.size()));
  std::printf("  what the model saw (28×28, %s%s; dark ' ' to light '@'):\n",
              fitted            ? "fitted into 20×20 and centred by its centre of mass, as MNIST was"
              : args.raw_resize ? "the whole image resized (--raw-resize)"
                                : "the whole image resized, as Fashion-MNIST's were",
              args.invert ? ", after --invert" : "");
  for (int r = 0; r < 28; ++r) {
    std::string line = "  |";
    for (int c = 0; c < 28; ++c) {
      const float x = std::clamp(v[static_cast<size_t>(r * 28 + c)], 0.f, 1.f);
      const char ch = ramp[std::min(9, static_cast<int>(x * 10))];
      line += ch, line += ch;
    }
    line += "|";
    const int k = r - 9;
    if (k >= 0 && k < static_cast<int>(p.size())) {
      const auto i = static_cast<size_t>(k);
      char number[96];
      std::snprintf(number, sizeof number, "  %*s %6.2f%%", width, names[i].c_str(), 100 * p[i]);
      const auto bar = static_cast<size_t>(std::lround(20 * p[i]));
      line += number;
      if (bar > 0) line += ' ', line.append(bar, '#');
    }
    std::printf("%s\n", line.c_str());
  }
}

}  // namespace

int run_predict(const PredictArgs& args) {
  if (args.images.empty()) throw UsageError("give at least one image file");
  const Device device = parse_device(args.device);
  if (is_gpt_checkpoint(args.checkpoint))
    throw UsageError(
        str_cat("--checkpoint ", args.checkpoint,
                " is a GPT (a language model): minidl sample generates text with it, minidl eval scores it"));
  const Checkpoint ck = load_checkpoint(args.checkpoint);
  Generator unused(0);
  const auto model = make_model(ck.config, unused, &unused);
  const Shape example = model_input_shape(ck.config);
  model->to(device);
  load_parameters(*model, ck.parameters, args.checkpoint);
  model->eval();
  const data::ImageDatasetInfo& info = dataset_info(ck.config.dataset);
  const std::vector<std::string> names = class_names(ck.config.dataset);

  // MNIST's digit recipe (data::mnist_preprocess); Fashion-MNIST's images were whole pictures
  // resized with their longest edge to 28, which --raw-resize's squeeze is closest to.
  const bool fit = !args.raw_resize && ck.config.dataset == "mnist";
  NoGradGuard no_grad;
  for (const std::string& path : args.images) {
    // Transparency is composited onto the background the image is said to have: dark (MNIST's), or
    // light with --invert, which then turns it dark like the rest.
    Tensor image = data::load_image(path, fit ? 0 : 28, args.invert ? 1.f : 0.f);
    warn_if_blank(image, path, args.invert);
    if (args.invert) image = 1.f - image;  // MNIST digits are light on dark
    warn_if_dark_on_light(image, path, args.invert);
    if (fit) image = data::mnist_preprocess(image);
    Tensor pixels = image.reshape({1, kInputs});
    const std::vector<float> seen = pixels.to_vector();  // [0, 1], as drawn below
    pixels = pixels.to(device);
    const Tensor input = model_input(data::normalize_pixels(pixels, info), example);
    const std::vector<float> p = softmax((*model)(input), 1).to_vector();
    const int best = static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
    std::printf("%s: %s  (probability %.4f)\n ", path.c_str(), names[best].c_str(), p[best]);
    for (int c = 0; c < kClasses; ++c) std::printf(" %s:%.4f", names[c].c_str(), p[c]);
    std::printf("\n");
    if (args.picture) print_picture(seen, p, names, args, fit);
  }
  return 0;
}

Command add_predict(CLI::App& app) {
  auto p = std::make_shared<PredictArgs>();
  CLI::App* predict = app.add_subcommand("predict", "classify images (PNG, BMP, PGM/PPM) with a checkpoint");
  predict->add_option("--checkpoint", p->checkpoint, "checkpoint written by minidl train")->required();
  predict->add_flag("--invert", p->invert,
                    "invert the images (for dark digits on a light background; predict warns when one looks so)");
  predict->add_flag("!--no-picture", p->picture, "do not draw the 28×28 image the model saw");
  predict->add_flag("--raw-resize", p->raw_resize,
                    "resize the whole image to 28×28 as it is, instead of preparing it as MNIST was (the digit's "
                    "box fitted into 20×20 keeping its aspect ratio, centred by its centre of mass; Fashion-MNIST "
                    "checkpoints always resize the whole image)");
  add_runtime_flags(predict, *p, kDevice);
  predict->add_option("images", p->images, "image files")->required();
  return {predict, [p] { return run_predict(*p); }};
}

}  // namespace minidl::cli
