#include "data/image.h"

#include <stb_image.h>
#include <stb_image_resize.h>
#include <stb_image_write.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <initializer_list>
#include <memory>
#include <utility>
#include <vector>

#include "core/dispatch.h"
#include "data/file_bytes.h"

namespace minidl::data {

Tensor load_image(const std::string& path, int64_t size, float background) {
  check(size >= 0, "load_image: size must be >= 0, got ", size);
  const Bytes file = read_bytes(path, "load_image");
  return decode_image(file.span(), path, size, background);
}

namespace {

enum class Format { png, jpeg, bmp, pnm, other };

Format sniff(std::span<const uint8_t> b) {
  const auto starts = [&](std::initializer_list<uint8_t> magic) {
    return b.size() >= magic.size() && std::equal(magic.begin(), magic.end(), b.begin());
  };
  if (starts({0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'})) return Format::png;
  if (starts({0xff, 0xd8})) return Format::jpeg;
  if (starts({'B', 'M'})) return Format::bmp;
  if (starts({'P', '5'}) || starts({'P', '6'})) return Format::pnm;
  return Format::other;
}

// stb_image allocates a PNG chunk's declared length before reading it: an 80-byte file declaring a
// 1.9 GB IDAT made it ask for 1.9 GB (found by fuzzing). A whole file holds every chunk it declares,
// so chunk lengths are checked against the bytes that are really there.
bool png_chunks_fit(std::span<const uint8_t> b) {
  const auto type_is = [&](size_t at, const char* type) {
    return std::equal(b.begin() + static_cast<std::ptrdiff_t>(at + 4), b.begin() + static_cast<std::ptrdiff_t>(at + 8),
                      type);
  };
  for (size_t at = 8; at + 8 <= b.size();) {
    const size_t length = size_t{b[at]} << 24 | size_t{b[at + 1]} << 16 | size_t{b[at + 2]} << 8 | b[at + 3];
    if (length > b.size() - at - 8) return false;
    // An empty IDAT makes stb memcpy to a null buffer (UBSan, found by fuzzing); it holds no data.
    if (length == 0 && type_is(at, "IDAT")) return false;
    if (type_is(at, "IEND")) return true;
    at += 12 + length;  // length, type, data, CRC
  }
  return true;  // no IEND: stb reports the truncation
}

// stb_image reads a PGM/PPM header's numbers into an int with no overflow check: a width of 40
// digits is undefined behaviour (found by fuzzing). And its 16-bit path (maximum value over 255)
// reads past its buffer on a short file (found next). So the header is read the way stb reads it:
// width, height and maximum value, at most 7 digits each, the maximum at most 255.
bool pnm_header_acceptable(std::span<const uint8_t> b) {
  size_t at = 2;
  long value = 0;
  for (int number = 0; number < 3; ++number) {
    while (at < b.size() && (std::isspace(b[at]) || b[at] == '#')) {  // whitespace and comment lines
      if (b[at] == '#')
        while (at < b.size() && b[at] != '\n' && b[at] != '\r') ++at;
      else
        ++at;
    }
    size_t digits = 0;
    value = 0;
    while (at < b.size() && std::isdigit(b[at])) {
      if (++digits > 7) return false;
      value = value * 10 + (b[at++] - '0');
    }
  }
  return value <= 255;
}

}  // namespace

Tensor decode_image(std::span<const uint8_t> bytes, const std::string& path, int64_t size, float background) {
  // Only PNG, BMP and 8-bit binary PGM/PPM reach stb: each decoder is attack surface. JPEG is
  // refused: fuzzing found two memory-safety faults in the Huffman decoding of Debian's stb_image
  // (2022-09) — a write past the size table for tables of over 256 codes, and a read at a negative
  // index for another malformed table — and a check per fault is a race with the next one.
  const Format format = sniff(bytes);
  check(format != Format::jpeg, "load_image: ", path,
        ": JPEG is not read (the decoder minidl uses is unsafe on malformed files); convert it to PNG");
  check(format != Format::other, "load_image: ", path,
        ": not a readable image (minidl reads PNG, BMP and binary PGM/PPM)");
  check(format != Format::png || png_chunks_fit(bytes), "load_image: ", path,
        ": not a readable image (corrupt PNG: a chunk longer than the file, or an empty IDAT)");
  check(format != Format::pnm || pnm_header_acceptable(bytes), "load_image: ", path,
        ": not a readable image (PGM/PPM: only 8-bit images with a well-formed header)");
  check(size >= 0 && size <= 4096, "load_image: size must be in [0, 4096], got ", size);
  check(background >= 0.f && background <= 1.f, "load_image: background must be in [0, 1], got ", background);
  check(bytes.size() <= INT32_MAX, "load_image: ", path, ": ", bytes.size(), " bytes is too large for an image");
  int w = 0, h = 0, channels = 0;
  const auto n = static_cast<int>(bytes.size());
  // Sizes from the header first: a crafted file must not make the decoder allocate gigabytes.
  check(stbi_info_from_memory(bytes.data(), n, &w, &h, &channels) == 1, "load_image: ", path,
        ": not a readable image (", stbi_failure_reason(), ")");
  check(w > 0 && h > 0 && int64_t{w} * h <= kMaxImagePixels, "load_image: ", path, ": ", w, "x", h,
        " pixels is more than minidl reads (", kMaxImagePixels, ")");
  // Uncompressed formats hold at least a bit per pixel: a 1.4 KB BMP declaring 1308×23324 pixels
  // (found by fuzzing) would otherwise be decoded, from zeros past its end, into 30 MB.
  check((format != Format::bmp && format != Format::pnm) || int64_t{w} * h <= static_cast<int64_t>(bytes.size()) * 8,
        "load_image: ", path, ": truncated image (", w, "x", h, " pixels in ", bytes.size(), " bytes)");
  // Decoded as grey + alpha (alpha 255 where the file has none) and composited onto the background:
  // stb's plain grey conversion drops alpha, and an image whose colour channels are blank and whose
  // digit is all in alpha (grey + alpha, RGBA, a palette with tRNS) was classified as blank.
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(stbi_load_from_memory(bytes.data(), n, &w, &h, &channels, 2),
                                                   stbi_image_free);
  check(pixels != nullptr, "load_image: ", path, ": not a readable image (", stbi_failure_reason(), ")");
  std::vector<stbi_uc> gray(static_cast<size_t>(w) * h);
  const float under = background * 255.f;
  for (size_t i = 0; i < gray.size(); ++i) {
    const float value = pixels.get()[2 * i], alpha = static_cast<float>(pixels.get()[2 * i + 1]) / 255.f;
    gray[i] = static_cast<stbi_uc>(std::lround(value * alpha + under * (1.f - alpha)));
  }
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

namespace {

// One axis of the rescaling: output pixel o of n_out is the weighted sum of input pixels
// taps[o] = {(i, w)} of n_in. Shrinking (n_out < n_in), o covers the input interval
// [o·s, (o+1)·s) with s = n_in / n_out, and input pixel i (covering [i, i+1)) weighs
// |[i, i+1) ∩ [o·s, (o+1)·s)| / s: an area average, so thin strokes are not dropped between samples.
// Growing or equal, o's centre maps to x = (o + ½)·s − ½ in input pixel indices and is linear
// between the two pixels around it (clamped at the edges): n_out = n_in gives the identity.
using Taps = std::vector<std::vector<std::pair<int64_t, double>>>;
Taps resample_taps(int64_t n_in, int64_t n_out) {
  Taps taps(static_cast<size_t>(n_out));
  const double s = static_cast<double>(n_in) / static_cast<double>(n_out);
  for (int64_t o = 0; o < n_out; ++o) {
    auto& t = taps[static_cast<size_t>(o)];
    if (n_out < n_in) {
      const double lo = o * s, hi = (o + 1) * s;
      for (auto i = static_cast<int64_t>(lo); i < n_in && static_cast<double>(i) < hi; ++i) {
        const double overlap =
            std::min<double>(static_cast<double>(i + 1), hi) - std::max<double>(static_cast<double>(i), lo);
        if (overlap > 0) t.emplace_back(i, overlap / s);
      }
    } else {
      const double x = std::clamp((static_cast<double>(o) + 0.5) * s - 0.5, 0.0, static_cast<double>(n_in - 1));
      const auto i = static_cast<int64_t>(x);
      const double f = x - static_cast<double>(i);
      t.emplace_back(i, 1 - f);
      if (f > 0) t.emplace_back(i + 1, f);
    }
  }
  return taps;
}

// The rows top..top+h, columns left..left+w of the row-major image `in` (width `stride`), rescaled
// to out_h × out_w one axis after the other (the filter is separable).
std::vector<double> rescale(const float* in, int64_t stride, int64_t top, int64_t left, int64_t h, int64_t w,
                            int64_t out_h, int64_t out_w) {
  const Taps across = resample_taps(w, out_w), down = resample_taps(h, out_h);
  std::vector<double> rows(static_cast<size_t>(h * out_w), 0.0), out(static_cast<size_t>(out_h * out_w), 0.0);
  for (int64_t r = 0; r < h; ++r)
    for (int64_t c = 0; c < out_w; ++c)
      for (const auto& [i, weight] : across[static_cast<size_t>(c)])
        rows[static_cast<size_t>(r * out_w + c)] += weight * in[(top + r) * stride + left + i];
  for (int64_t r = 0; r < out_h; ++r)
    for (const auto& [i, weight] : down[static_cast<size_t>(r)])
      for (int64_t c = 0; c < out_w; ++c)
        out[static_cast<size_t>(r * out_w + c)] += weight * rows[static_cast<size_t>(i * out_w + c)];
  return out;
}

}  // namespace

// The recipe is in data/image.h. Why MNIST's images come out (almost) unchanged: their longer side
// is 20 pixels above any threshold below their faintest stroke, so the scale is 1 and the taps are the
// identity; their centre of mass is within [13.5, 14.5] already, so the shift is 0. What changes is
// only pixels at or below `threshold` outside the box of those above it: they are cropped (set to 0).
Tensor mnist_preprocess(const Tensor& grey, const MnistLayout& layout) {
  dispatch::check_float(grey, "mnist_preprocess");
  check(grey.dim() == 2 && grey.numel() > 0, "mnist_preprocess: expected [height, width] pixels, got ", grey.shape());
  check(layout.size > 0 && layout.size <= 4096 && layout.box > 0 && layout.box <= layout.size,
        "mnist_preprocess: need 0 < box <= size <= 4096, got box ", layout.box, ", size ", layout.size);
  check(layout.threshold >= 0.f && layout.threshold < 1.f, "mnist_preprocess: threshold must be in [0, 1), got ",
        layout.threshold);
  const std::vector<float> pixels = grey.to(Device::cpu()).to_vector();  // row-major
  const float* in = pixels.data();
  const int64_t h = grey.size(0), w = grey.size(1), n = layout.size;
  Tensor out = Tensor::zeros({n, n});
  int64_t top = h, bottom = -1, left = w, right = -1;  // the digit's bounding box
  for (int64_t r = 0; r < h; ++r)
    for (int64_t c = 0; c < w; ++c)
      if (in[r * w + c] > layout.threshold)
        top = std::min(top, r), bottom = std::max(bottom, r), left = std::min(left, c), right = std::max(right, c);
  if (bottom < 0) return out;  // nothing above the threshold: blank
  const int64_t bh = bottom - top + 1, bw = right - left + 1;
  const double scale = static_cast<double>(layout.box) / static_cast<double>(std::max(bh, bw));
  const int64_t oh = std::max<int64_t>(1, std::llround(static_cast<double>(bh) * scale));
  const int64_t ow = std::max<int64_t>(1, std::llround(static_cast<double>(bw) * scale));
  const std::vector<double> digit = rescale(in, w, top, left, bh, bw, oh, ow);
  double mass = 0, my = 0, mx = 0;  // centre of mass of the rescaled digit, in its own pixel indices
  for (int64_t r = 0; r < oh; ++r)
    for (int64_t c = 0; c < ow; ++c) {
      const double v = digit[static_cast<size_t>(r * ow + c)];
      mass += v, my += v * static_cast<double>(r), mx += v * static_cast<double>(c);
    }
  // Its row r lands on row r + dy: the centre of mass my/mass lands within ½ of n/2.
  const double centre = static_cast<double>(n) / 2;
  const int64_t dy = mass > 0 ? std::llround(centre - my / mass) : (n - oh) / 2;
  const int64_t dx = mass > 0 ? std::llround(centre - mx / mass) : (n - ow) / 2;
  float* o = out.data<float>();
  for (int64_t r = 0; r < oh; ++r)
    for (int64_t c = 0; c < ow; ++c)
      if (r + dy >= 0 && r + dy < n && c + dx >= 0 && c + dx < n)
        o[(r + dy) * n + c + dx] = static_cast<float>(std::clamp(digit[static_cast<size_t>(r * ow + c)], 0.0, 1.0));
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
  check(
      stbi_write_png(path.c_str(), static_cast<int>(w), static_cast<int>(h), 1, bytes.data(), static_cast<int>(w)) != 0,
      "save_png: ", path, ": cannot write the file");
}

std::vector<uint8_t> encode_png(std::span<const uint8_t> pixels, int width, int height, int channels) {
  check(width > 0 && height > 0 && channels >= 1 && channels <= 4 &&
            pixels.size() == static_cast<size_t>(width) * static_cast<size_t>(height) * static_cast<size_t>(channels),
        "encode_png: ", pixels.size(), " bytes for a ", width, "×", height, " image of ", channels, " channels");
  std::vector<uint8_t> png;
  const auto append = [](void* context, void* data, int size) {
    auto* out = static_cast<std::vector<uint8_t>*>(context);
    out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
  };
  check(stbi_write_png_to_func(append, &png, width, height, channels, pixels.data(), width * channels) != 0,
        "encode_png: stb could not encode the image");
  return png;
}

}  // namespace minidl::data
