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
