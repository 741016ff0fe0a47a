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

/// Writes [height, width] (or [height·width] with height = width) pixels in [0, 1] as an 8-bit
/// grayscale PNG; values outside [0, 1] are clamped.
void save_png(const std::string& path, const Tensor& pixels);

/// A PNG file's bytes for 8-bit `pixels`, row-major, `channels` per pixel (1 grey, 3 RGB, 4 RGBA),
/// made in memory (a report embeds its images).
std::vector<uint8_t> encode_png(std::span<const uint8_t> pixels, int width, int height, int channels);

}  // namespace minidl::data
