#include "data/idx_reader.h"

#include <cstdio>

#include "core/error.h"
#include "data/file_bytes.h"

namespace minidl::data {

namespace {

const char* type_name(uint8_t type) {
  switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "unknown";
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

}  // namespace

IdxArray parse_idx(Bytes bytes, const std::string& path) {
  check(bytes.size() >= 4, "read_idx: ", path, ": file is ", bytes.size(), " bytes, too short for an IDX header");
  const uint32_t magic = big_endian_u32(bytes.data());
  const uint8_t type = bytes[2], ndim = bytes[3];
  check(bytes[0] == 0 && bytes[1] == 0 && ndim >= 1, "read_idx: ", path, ": magic ", hex32(magic),
        " is not an IDX magic (expected 0x0000, the element type, then the dimension count, e.g. 0x00000803)");
  check(type == 0x08, "read_idx: ", path, ": element type 0x", hex32(type).substr(8), " (", type_name(type),
        ") is not supported; MNIST files hold unsigned bytes (0x08)");
  const size_t header = 4 + 4 * size_t{ndim};
  check(bytes.size() >= header, "read_idx: ", path, ": truncated header: ", int(ndim), " dimensions need ", header,
        " bytes, file has ", bytes.size());

  IdxArray out;
  std::string dims_text;
  uint64_t count = 1;
  for (size_t d = 0; d < ndim; ++d) {
    const uint32_t n = big_endian_u32(bytes.data() + 4 + 4 * d);
    out.dims.push_back(n);
    dims_text += (d ? " x " : "") + std::to_string(n);
    check(!__builtin_mul_overflow(count, uint64_t{n}, &count), "read_idx: ", path, ": the header's sizes ",
          dims_text, "… overflow");
  }
  const uint64_t available = bytes.size() - header;
  check(count <= available, "read_idx: ", path, ": truncated: the header promises ", dims_text, " = ", count,
        " bytes of data, the file has ", available);
  check(count == available, "read_idx: ", path, ": ", available - count, " bytes after the ", dims_text,
        " data the header describes");
  out.data = bytes.span().subspan(header);
  out.file = std::move(bytes);
  return out;
}

IdxArray read_idx(const std::string& path) { return parse_idx(read_maybe_gzip(path, "read_idx"), path); }

}  // namespace minidl::data
