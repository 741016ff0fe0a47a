#include "data/safetensors.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <zlib.h>

#include "core/dispatch.h"
#include "data/file_bytes.h"

namespace minidl::data {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian; add byte swapping");

namespace {

using nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100 << 20;  // the reference implementation's limit

const char* dtype_code(DType d) { return d == DType::float32 ? "F32" : "I32"; }

// Writes all of `bytes` to fd, or throws naming `path` and the OS error (e.g. no space left).
void write_all(int fd, const void* bytes, size_t n, const std::string& path) {
  const auto* p = static_cast<const unsigned char*>(bytes);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    check(w > 0, "save_safetensors: ", path, ": write failed: ", std::strerror(w < 0 ? errno : EIO));
    p += w;
    n -= static_cast<size_t>(w);
  }
}

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

// A save killed before its rename (SIGKILL, power loss) leaves "<path>.tmp.<pid>" behind. The
// next save of the same path removes those whose process is gone.
void remove_stale_temporaries(const std::filesystem::path& target) {
  std::error_code ec;
  const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
  const std::string prefix = target.filename().string() + ".tmp.";
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(prefix)) continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(digits));
    if (pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH) std::filesystem::remove(entry.path(), ec);
  }
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
    header[name] = {{"dtype", dtype_code(t.dtype())}, {"shape", std::vector<int64_t>(t.shape().begin(), t.shape().end())},
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

  const std::filesystem::path target(path);
  remove_stale_temporaries(target);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  check(fd >= 0, "save_safetensors: ", path, ": cannot create ", tmp, ": ", std::strerror(errno));
  try {
    write_all(fd, length_bytes, 8, path);
    write_all(fd, text.data(), text.size(), path);
    write_all(fd, payload.data(), payload.size(), path);
    check(::fsync(fd) == 0, "save_safetensors: ", path, ": fsync failed: ", std::strerror(errno));
    check(::close(fd) == 0, "save_safetensors: ", path, ": close failed: ", std::strerror(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail("save_safetensors: ", path, ": cannot rename ", tmp, " over it: ", std::strerror(err));
  }
  // Make the rename itself durable.
  const std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

SafetensorsFile load_safetensors(const std::string& path, bool require_checksum) {
  const Bytes file = map_file(path, "load_safetensors");
  return parse_safetensors(file.span(), path, require_checksum);
}

SafetensorsFile parse_safetensors(std::span<const uint8_t> bytes, const std::string& path, bool require_checksum) {
  check(bytes.size() >= 8, "load_safetensors: ", path, ": file is ", bytes.size(),
        " bytes, too short for the 8-byte header length");
  uint64_t length = 0;
  std::memcpy(&length, bytes.data(), 8);
  check(length <= bytes.size() - 8 && length <= kMaxHeaderBytes, "load_safetensors: ", path, ": header length ",
        length, " does not fit the file's ", bytes.size(), " bytes (not a safetensors file, or truncated)");
  json header;
  try {
    header = json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(length));
  } catch (const json::exception& e) {
    fail("load_safetensors: ", path, ": corrupt header: ", e.what());
  }
  check(header.is_object(), "load_safetensors: ", path, ": corrupt header: expected a JSON object");

  SafetensorsFile out;
  struct Placed {
    uint64_t begin;
    std::string name;
    Tensor tensor;
  };
  std::vector<Placed> placed;
  const uint64_t data_start = 8 + length, data_size = bytes.size() - data_start;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      check(entry.is_object(), "load_safetensors: ", path, ": __metadata__ must be an object of strings");
      for (const auto& [key, value] : entry.items()) {
        check(value.is_string(), "load_safetensors: ", path, ": metadata '", key, "' is not a string");
        out.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    const auto bad = [&, &name = name](const std::string& why) {
      fail("load_safetensors: ", path, ": tensor '", name, "': ", why);
    };
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
        bad(detail::concat("shape ", shape_json.dump(), " needs more than the file's ", data_size, " data bytes"));
    if (begin > end || end > data_size)
      bad(detail::concat("data_offsets [", begin, ", ", end, "] lie outside the ", data_size, " data bytes (truncated?)"));
    if (end - begin != numel * 4)
      bad(detail::concat("data_offsets span ", end - begin, " bytes, shape ", shape, " needs ", numel * 4));
    Tensor t = Tensor::empty(shape, {.dtype = dtype == "F32" ? DType::float32 : DType::int32});
    if (numel) std::memcpy(t.data_ptr(), bytes.data() + data_start + begin, end - begin);
    placed.push_back({begin, name, std::move(t)});
  }
  const auto it = out.metadata.find(kChecksumKey);
  check(it != out.metadata.end() || !require_checksum, "load_safetensors: ", path,
        ": no checksum in the metadata (damaged, or not written by minidl)");
  if (it != out.metadata.end()) {
    std::string text(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(length));
    const size_t digits = checksum_position(text);
    check(digits != std::string::npos && it->second.size() == 8, "load_safetensors: ", path,
          ": corrupt header: malformed checksum entry");
    text.replace(digits, 8, "00000000");
    char computed[9];
    std::snprintf(computed, sizeof computed, "%08x",
                  crc32_of(bytes.first(8), bytes_of(text), bytes.subspan(static_cast<size_t>(data_start))));
    check(it->second == computed, "load_safetensors: ", path, ": checksum mismatch (stored ", it->second,
          ", computed ", computed, "): the file is corrupt");
  }
  // The JSON object iterates by name; hand the tensors back in the order of their data.
  std::sort(placed.begin(), placed.end(), [](const auto& a, const auto& b) { return a.begin < b.begin; });
  for (auto& p : placed) out.tensors.emplace_back(std::move(p.name), std::move(p.tensor));
  return out;
}

}  // namespace minidl::data
