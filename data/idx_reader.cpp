#include "data/idx_reader.h"

#include <array>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "data/decompression_cache.h"
#include "data/file_bytes.h"

namespace minidl::data {

namespace {

const char* type_name(uint8_t type) {
  switch (type) {
    case 0x08:
      return "unsigned byte";
    case 0x09:
      return "signed byte";
    case 0x0B:
      return "int16";
    case 0x0C:
      return "int32";
    case 0x0D:
      return "float32";
    case 0x0E:
      return "float64";
    default:
      return "unknown";
  }
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

uint32_t big_endian_u32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

constexpr size_t kMagicBytes = 4;

struct Header {
  std::vector<int64_t> dims;
  std::string dims_text;    // "60000 x 28 x 28"
  size_t bytes = 0;         // the header's own length
  uint64_t data_bytes = 0;  // what it promises after itself
};

// The header at the start of `bytes`, which may hold nothing else yet (gunzip_idx reads it first).
Header parse_header(std::span<const uint8_t> bytes, const std::string& path) {
  check(bytes.size() >= kMagicBytes, "read_idx: ", path, ": file is ", bytes.size(),
        " bytes, too short for an IDX header");
  const uint32_t magic = big_endian_u32(bytes.data());
  const uint8_t type = bytes[2], ndim = bytes[3];
  check(bytes[0] == 0 && bytes[1] == 0 && ndim >= 1, "read_idx: ", path, ": magic ", hex32(magic),
        " is not an IDX magic (expected 0x0000, the element type, then the dimension count, e.g. 0x00000803)");
  check(type == 0x08, "read_idx: ", path, ": element type 0x", hex32(type).substr(8), " (", type_name(type),
        ") is not supported; MNIST files hold unsigned bytes (0x08)");
  Header h;
  h.bytes = kMagicBytes + 4 * size_t{ndim};
  check(bytes.size() >= h.bytes, "read_idx: ", path, ": truncated header: ", int(ndim), " dimensions need ", h.bytes,
        " bytes, file has ", bytes.size());
  h.data_bytes = 1;
  for (size_t d = 0; d < ndim; ++d) {
    const uint32_t n = big_endian_u32(bytes.data() + kMagicBytes + 4 * d);
    h.dims.push_back(n);
    h.dims_text += (d ? " x " : "") + std::to_string(n);
    check(!__builtin_mul_overflow(h.data_bytes, uint64_t{n}, &h.data_bytes), "read_idx: ", path,
          ": the header's sizes ", h.dims_text, "… overflow");
  }
  return h;
}

}  // namespace

IdxArray parse_idx(Bytes bytes, const std::string& path) {
  const Header h = parse_header(bytes.span(), path);
  const uint64_t available = bytes.size() - h.bytes;
  check(h.data_bytes <= available, "read_idx: ", path, ": truncated: the header promises ", h.dims_text, " = ",
        h.data_bytes, " bytes of data, the file has ", available);
  check(h.data_bytes == available, "read_idx: ", path, ": ", available - h.data_bytes, " bytes after the ", h.dims_text,
        " data the header describes");
  IdxArray out;
  out.dims = h.dims;
  out.data = bytes.span().subspan(h.bytes);
  out.file = std::move(bytes);
  return out;
}

IdxArray gunzip_idx(std::span<const uint8_t> compressed, const std::string& path, size_t max_bytes) {
  GzipReader gz(compressed, path, "read_idx");
  // The magic, then the sizes it announces: a short stream gets parse_idx's message for a short file.
  std::array<uint8_t, kMagicBytes + 4 * 255> head;
  size_t head_bytes = gz.read(head.data(), kMagicBytes);
  if (head_bytes == kMagicBytes) head_bytes += gz.read(head.data() + kMagicBytes, 4 * size_t{head[3]});
  const Header h = parse_header(std::span(head.data(), head_bytes), path);
  const uint64_t total = h.bytes + h.data_bytes;
  check(total <= max_bytes, "read_idx: ", path, ": the header promises ", h.dims_text, " = ", h.data_bytes,
        " bytes of data, more than minidl reads (", max_bytes, " bytes)");
  check(total <= compressed.size() * kMaxDeflateRatio, "read_idx: ", path, ": truncated: the header promises ",
        h.dims_text, " = ", h.data_bytes, " bytes of data, more than ", compressed.size(),
        " bytes of gzip data can hold (deflate expands at most ", kMaxDeflateRatio, ":1)");
  std::shared_ptr<uint8_t[]> buffer(new uint8_t[std::max<uint64_t>(total, 1)]);  // not value-initialized
  std::memcpy(buffer.get(), head.data(), h.bytes);
  const size_t got = gz.read(buffer.get() + h.bytes, h.data_bytes);
  uint8_t one_more;
  check(got < h.data_bytes || gz.read(&one_more, 1) == 0, "read_idx: ", path, ": more data after the ", h.dims_text,
        " bytes the header describes (decompression stopped there)");
  const uint8_t* data = buffer.get();
  // A short stream: parse_idx reports the truncation as it does for a raw file.
  return parse_idx(Bytes(std::shared_ptr<const void>(std::move(buffer), data), data, h.bytes + got), path);
}

std::vector<int64_t> gzip_idx_dims(const std::string& path) {
  const Bytes file = read_bytes(path, "read_idx");
  if (!is_gzip(file.span())) return {};
  GzipReader gz(file.span(), path, "read_idx");
  std::array<uint8_t, kMagicBytes + 4 * 255> head;
  size_t head_bytes = gz.read(head.data(), kMagicBytes);
  if (head_bytes == kMagicBytes) head_bytes += gz.read(head.data() + kMagicBytes, 4 * size_t{head[3]});
  return parse_header(std::span(head.data(), head_bytes), path).dims;
}

IdxArray read_idx(const std::string& path) {
  Bytes file = read_bytes(path, "read_idx");
  if (!is_gzip(file.span())) {
    check(!path.ends_with(".gz"), "read_idx: ", path,
          ": not gzip data (the file is named .gz but does not start with the gzip magic 1f 8b)");
    return parse_idx(std::move(file), path);
  }
  if (std::optional<Bytes> cached = find_cached_decompression(path, file.span()))
    return parse_idx(std::move(*cached), path);
  IdxArray a = gunzip_idx(file.span(), path);  // checked whole before it is cached
  store_decompression(path, file.span(), a.file.span());
  return a;
}

}  // namespace minidl::data
