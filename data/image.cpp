#include "data/image.h"

#include <stb_image.h>
#include <stb_image_resize.h>
#include <stb_image_write.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <memory>
#include <vector>

#include "core/dispatch.h"
#include "data/file_bytes.h"

namespace minidl::data {

Tensor load_image(const std::string& path, int64_t size) {
  check(size >= 0, "load_image: size must be >= 0, got ", size);
  const Bytes file = map_file(path, "load_image");
  return decode_image(file.span(), path, size);
}

Tensor decode_image(std::span<const uint8_t> bytes, const std::string& path, int64_t size) {
  check(size >= 0 && size <= 8192, "load_image: size must be in [0, 8192], got ", size);
  check(bytes.size() <= INT32_MAX, "load_image: ", path, ": ", bytes.size(), " bytes is too large for an image");
  int w = 0, h = 0, channels = 0;
  const auto n = static_cast<int>(bytes.size());
  // Sizes from the header first: a crafted file must not make the decoder allocate gigabytes.
  check(stbi_info_from_memory(bytes.data(), n, &w, &h, &channels) == 1, "load_image: ", path,
        ": not a readable image (", stbi_failure_reason(), ")");
  check(w > 0 && h > 0 && int64_t{w} * h <= kMaxImagePixels, "load_image: ", path, ": ", w, "x", h,
        " pixels is more than minidl reads (", kMaxImagePixels, ")");
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(stbi_load_from_memory(bytes.data(), n, &w, &h, &channels, 1),
                                                   stbi_image_free);
  check(pixels != nullptr, "load_image: ", path, ": not a readable image (", stbi_failure_reason(), ")");
  std::vector<stbi_uc> gray(pixels.get(), pixels.get() + static_cast<size_t>(w) * h);
  if (size > 0 && (w != size || h != size)) {
    std::vector<stbi_uc> resized(static_cast<size_t>(size * size));
    check(stbir_resize_uint8(gray.data(), w, h, 0, resized.data(), static_cast<int>(size), static_cast<int>(size), 0,
                             1) == 1,
          "load_image: ", path, ": resizing ", w, "x", h, " to ", size, "x", size, " failed");
    gray = std::move(resized);
    w = h = static_cast<int>(size);
  }
  Tensor out = Tensor::empty({h, w});
  float* o = out.data<float>();
  for (size_t i = 0; i < gray.size(); ++i) o[i] = static_cast<float>(gray[i]) / 255.f;
  return out;
}

void save_png(const std::string& path, const Tensor& pixels) {
  dispatch::check_float(pixels, "save_png");
  int64_t h = 0, w = 0;
  if (pixels.dim() == 2) {
    h = pixels.size(0), w = pixels.size(1);
  } else {
    const auto side = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(pixels.numel()))));
    check(pixels.dim() == 1 && side * side == pixels.numel(), "save_png: expected [height, width] pixels, got ",
          pixels.shape());
    h = w = side;
  }
  check(h > 0 && w > 0, "save_png: empty image of shape ", pixels.shape());
  std::vector<unsigned char> bytes;
  for (float v : pixels.to_vector())
    bytes.push_back(static_cast<unsigned char>(std::isnan(v) ? 0 : std::lround(std::clamp(v, 0.f, 1.f) * 255.f)));
  check(stbi_write_png(path.c_str(), static_cast<int>(w), static_cast<int>(h), 1, bytes.data(), static_cast<int>(w)) != 0,
        "save_png: ", path, ": cannot write the file");
}

}  // namespace minidl::data
