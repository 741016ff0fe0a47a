// Images in and out (PNG, BMP and 8-bit PGM/PPM through stb_image; JPEG is refused, see docs/reliability.md),
// as grayscale tensors of pixels in [0, 1].
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <minidl/core/tensor.h>

namespace minidl::data {

/// Loads `path` as grayscale [height, width] pixels in [0, 1], resized to size×size when it has
/// another size (size = 28 for MNIST; 0 keeps the original size). Not an image: minidl::Error.
/// Transparent pixels are composited onto `background` (0 black, MNIST's background; 1 white), so
/// that a digit drawn only in the alpha channel over blank colour shows as a digit, not as blank.
Tensor load_image(const std::string& path, int64_t size = 28, float background = 0.f);

/// The same from an image file's bytes in memory; `name` names them in errors. Images over
/// kMaxImagePixels pixels are refused before they are decoded.
Tensor decode_image(std::span<const uint8_t> bytes, const std::string& name, int64_t size = 28, float background = 0.f);
constexpr int64_t kMaxImagePixels = int64_t{1} << 24;  // 4096 × 4096

/// Prepares a grey [height, width] image (light digit on a dark background, pixels in [0, 1]) the
/// way MNIST's digits were prepared (LeCun et al.), so that a model trained on MNIST sees what it knows:
///  1. the digit is the bounding box of the pixels above `threshold`;
///  2. that box is scaled to fit a box×box square keeping its aspect ratio (its longer side becomes
///     `box`), anti-aliased: each output pixel is the area average of the input it covers when
///     shrinking (a box filter), bilinear between input pixel centres when growing;
///  3. it is placed in a size×size image so that its intensity-weighted centre of mass, in pixel
///     index coordinates, lies at (size/2, size/2), i.e. (14, 14) for 28×28: shifted by the rounded
///     difference, so it ends within half a pixel of it; what then falls outside is clipped.
/// MNIST's own test images come out as they went in: their longer side is already 20 and their
/// centre of mass already within half a pixel of (14, 14) (data/image.cpp says what can differ). An
/// image with no pixel above `threshold` gives a blank (all 0) image. Returns [size, size] on the CPU.
struct MnistLayout {
  int64_t size = 28;       // the output's side
  int64_t box = 20;        // the side of the square the digit is fitted into
  float threshold = 0.1f;  // a pixel above it is part of the digit (below: background noise)
};
Tensor mnist_preprocess(const Tensor& grey, const MnistLayout& layout = {});

/// Writes [height, width] (or [height·width] with height = width) pixels in [0, 1] as an 8-bit
/// grayscale PNG; values outside [0, 1] are clamped.
void save_png(const std::string& path, const Tensor& pixels);

/// A PNG file's bytes for 8-bit `pixels`, row-major, `channels` per pixel (1 grey, 3 RGB, 4 RGBA),
/// made in memory (a report embeds its images).
std::vector<uint8_t> encode_png(std::span<const uint8_t> pixels, int width, int height, int channels);

}  // namespace minidl::data
