#include "data/safetensors.h"

#include <zlib.h>
#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/dispatch.h"
#include "data/atomic_file.h"
#include "data/file_bytes.h"

namespace minidl::data {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian; add byte swapping");

namespace {

using nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100 << 20;  // the reference implementation's limit

const char* dtype_code(DType d) { return d == DType::float32 ? "F32" : "I32"; }

uint32_t crc32_of(std::span<const uint8_t> a, std::span<const uint8_t> b, std::span<const uint8_t> c) {
  uLong crc = crc32(0L, Z_NULL, 0);
  for (const auto part : {a, b, c}) {
    const uint8_t* p = part.data();
    for (size_t left = part.size(); left > 0;) {  // zlib takes 32-bit lengths
      const auto n = static_cast<uInt>(std::min<size_t>(left, 1u << 30));
      crc = crc32(crc, p, n);
      p += n;
      left -= n;
    }
  }
  return static_cast<uint32_t>(crc);
}

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Where the checksum's 8 hex digits sit in the header text, or npos.
size_t checksum_position(const std::string& text) {
  const std::string key = std::string("\"") + kChecksumKey + "\":\"";
  const size_t at = text.find(key);
  return at == std::string::npos || text.find(key, at + 1) != std::string::npos ? std::string::npos : at + key.size();
}

}  // namespace

void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata) {
  // Header first: offsets follow the tensors in order, with no gaps.
  json header = json::object();
  std::vector<Tensor> contiguous;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    check(t.defined(), "save_safetensors: tensor '", name, "' is undefined");
    check(name != "__metadata__" && !header.contains(name), "save_safetensors: duplicate or reserved name '", name,
          "'");
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * element_size(t.dtype());
    header[name] = {{"dtype", dtype_code(t.dtype())},
                    {"shape", std::vector<int64_t>(t.shape().begin(), t.shape().end())},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    contiguous.push_back(dispatch::contiguous(t));
  }
  check(!metadata.contains(kChecksumKey), "save_safetensors: metadata key '", kChecksumKey, "' is reserved");
  Metadata meta = metadata;
  meta[kChecksumKey] = "00000000";  // filled in once the rest of the file is known
  header["__metadata__"] = meta;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t length = text.size();

  std::vector<uint8_t> payload(offset);
  uint64_t at = 0;
  for (const Tensor& t : contiguous) {
    const size_t n = static_cast<size_t>(t.numel()) * 4;
    // to_vector() would convert int32 to float: copy the raw 4-byte elements instead.
    if (n && t.dtype() == DType::float32) std::memcpy(payload.data() + at, t.to_vector().data(), n);
    if (n && t.dtype() == DType::int32) std::memcpy(payload.data() + at, t.to_int_vector().data(), n);
    at += n;
  }
  const size_t digits = checksum_position(text);
  uint8_t length_bytes[8];
  std::memcpy(length_bytes, &length, 8);
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", crc32_of(length_bytes, bytes_of(text), payload));
  text.replace(digits, 8, hex);

  // Through an unnamed temporary and rename, never through a link planted at a predictable name
  // (data/atomic_file.h); the target is always the old file or the new one.
  write_file_atomically(path, {std::span(length_bytes), bytes_of(text), std::span<const uint8_t>(payload)},
                        "save_safetensors");
}

SafetensorsFile load_safetensors(const std::string& path, bool require_checksum) {
  const Bytes file = read_bytes(path, "load_safetensors");
  return parse_safetensors(file.span(), path, require_checksum);
}

namespace {

// One tensor's entry of the header, checked: where its bytes lie in the data section.
struct Placed {
  uint64_t begin, end;
  std::string name;
  Shape shape;
  DType dtype;
};

Placed place(const std::string& name, const json& entry, uint64_t data_size, const std::string& path) {
  const auto bad = [&](const std::string& why) { fail("load_safetensors: ", path, ": tensor '", name, "': ", why); };
  if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets"))
    bad("needs dtype, shape and data_offsets");
  const json& dtype = entry["dtype"];
  if (!dtype.is_string() || (dtype != "F32" && dtype != "I32"))
    bad("dtype " + dtype.dump() + " is not supported (F32 or I32)");
  const json& shape_json = entry["shape"];
  if (!shape_json.is_array() || shape_json.size() > static_cast<size_t>(Shape::kMaxDims)) bad("bad shape");
  Shape shape;
  for (const json& d : shape_json) {
    if (!d.is_number_unsigned() || d.get<uint64_t>() > (uint64_t{1} << 40)) bad("bad shape " + shape_json.dump());
    shape.push_back(d.get<int64_t>());
  }
  const json& offsets = entry["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned())
    bad("bad data_offsets");
  const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
  uint64_t numel = 1;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(numel, static_cast<uint64_t>(d), &numel) || numel > data_size / 4)
      bad(str_cat("shape ", shape_json.dump(), " needs more than the file's ", data_size, " data bytes"));
  if (begin > end || end > data_size)
    bad(str_cat("data_offsets [", begin, ", ", end, "] lie outside the ", data_size, " data bytes (truncated?)"));
  if (end - begin != numel * 4)
    bad(str_cat("data_offsets span ", end - begin, " bytes, shape ", shape, " needs ", numel * 4));
  return {begin, end, name, shape, dtype == "F32" ? DType::float32 : DType::int32};
}

// As the reference implementation (safetensors' validate): the tensors' byte ranges, in order,
// tile the data exactly — no overlap, no gap, and nothing after the last one. Two names over one
// range, or bytes that no tensor owns, are what a tampered or mis-written file looks like. Checked
// before any tensor is allocated: overlapping ranges could otherwise claim the data many times.
// Sorts `placed` by offset.
void check_tiling(std::vector<Placed>& placed, uint64_t data_size, const std::string& path) {
  std::sort(placed.begin(), placed.end(),
            [](const auto& a, const auto& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  uint64_t covered = 0;
  for (const Placed& p : placed) {
    check(p.begin == covered, "load_safetensors: ", path, ": tensor '", p.name, "': data_offsets [", p.begin, ", ",
          p.end, "] ", p.begin < covered ? "overlap the previous tensor's" : "leave a gap after byte", " (", covered,
          ")");
    covered = p.end;
  }
  check(covered == data_size, "load_safetensors: ", path, ": ", data_size - covered,
        " bytes after the last tensor's data (the header accounts for ", covered, " of ", data_size, ")");
}

// The CRC-32 in the metadata, if any (required with require_checksum), against the file's bytes
// with the checksum's own digits read as zeros.
void check_checksum(std::span<const uint8_t> bytes, uint64_t length, const Metadata& metadata, const std::string& path,
                    bool require_checksum) {
  const auto it = metadata.find(kChecksumKey);
  check(it != metadata.end() || !require_checksum, "load_safetensors: ", path,
        ": no checksum in the metadata (damaged, or not written by minidl)");
  if (it == metadata.end()) return;
  std::string text(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(length));
  const size_t digits = checksum_position(text);
  check(digits != std::string::npos && it->second.size() == 8, "load_safetensors: ", path,
        ": corrupt header: malformed checksum entry");
  text.replace(digits, 8, "00000000");
  char computed[9];
  std::snprintf(computed, sizeof computed, "%08x",
                crc32_of(bytes.first(8), bytes_of(text), bytes.subspan(static_cast<size_t>(8 + length))));
  check(it->second == computed, "load_safetensors: ", path, ": checksum mismatch (stored ", it->second, ", computed ",
        computed, "): the file is corrupt");
}

}  // namespace

SafetensorsFile parse_safetensors(std::span<const uint8_t> bytes, const std::string& path, bool require_checksum) {
  check(bytes.size() >= 8, "load_safetensors: ", path, ": file is ", bytes.size(),
        " bytes, too short for the 8-byte header length");
  uint64_t length = 0;
  std::memcpy(&length, bytes.data(), 8);
  check(length <= bytes.size() - 8 && length <= kMaxHeaderBytes, "load_safetensors: ", path, ": header length ", length,
        " does not fit the file's ", bytes.size(), " bytes (not a safetensors file, or truncated)");
  json header;
  try {
    header = json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(length));
  } catch (const json::exception& e) {
    fail("load_safetensors: ", path, ": corrupt header: ", e.what());
  }
  check(header.is_object(), "load_safetensors: ", path, ": corrupt header: expected a JSON object");

  SafetensorsFile out;
  std::vector<Placed> placed;
  const uint64_t data_start = 8 + length, data_size = bytes.size() - data_start;
  for (const auto& [name, entry] : header.items()) {
    if (name != "__metadata__") {
      placed.push_back(place(name, entry, data_size, path));
      continue;
    }
    check(entry.is_object(), "load_safetensors: ", path, ": __metadata__ must be an object of strings");
    for (const auto& [key, value] : entry.items()) {
      check(value.is_string(), "load_safetensors: ", path, ": metadata '", key, "' is not a string");
      out.metadata[key] = value.get<std::string>();
    }
  }
  check_tiling(placed, data_size, path);
  check_checksum(bytes, length, out.metadata, path, require_checksum);
  // The JSON object iterates by name; hand the tensors back in the order of their data.
  for (Placed& p : placed) {
    Tensor t = Tensor::empty(p.shape, {.dtype = p.dtype});
    if (p.end > p.begin) std::memcpy(t.data_ptr(), bytes.data() + data_start + p.begin, p.end - p.begin);
    out.tensors.emplace_back(std::move(p.name), std::move(t));
  }
  return out;
}

}  // namespace minidl::data
