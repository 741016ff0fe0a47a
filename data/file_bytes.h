// Reading whole files, plain or gzip-compressed, with errors that name the path.
//
// Large inputs (MNIST's 47 MB of training pixels) are memory-mapped rather than copied: the pages
// come from the page cache on demand and are shared with every other process reading the file.
// A gzip file is decompressed once and the result cached on disk (see cached_decompression_path),
// so the second run maps the cache instead of inflating again.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace minidl::data {

/// Immutable bytes that keep their backing (a mapping or a buffer) alive; cheap to copy.
class Bytes {
 public:
  Bytes() = default;
  explicit Bytes(std::vector<uint8_t> buffer);
  Bytes(std::shared_ptr<const void> owner, const uint8_t* data, size_t size)
      : owner_(std::move(owner)), data_(data), size_(size) {}

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<const uint8_t> span() const { return {data_, size_}; }
  uint8_t operator[](size_t i) const { return data_[i]; }

 private:
  std::shared_ptr<const void> owner_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

/// The bytes of `path`. `op` prefixes error messages ("read_idx: data/x: cannot open: …").
std::vector<uint8_t> read_file(const std::string& path, const char* op);

/// `path` mapped read-only (an empty file gives empty bytes).
Bytes map_file(const std::string& path, const char* op);

/// Decompresses gzip data (concatenated members allowed). Truncated or corrupt data and output over
/// `max_bytes` are errors naming `path`.
std::vector<uint8_t> gunzip(std::span<const uint8_t> compressed, const std::string& path, const char* op,
                            size_t max_bytes = size_t{1} << 30);

/// The bytes of `path`, decompressed when the file starts with the gzip magic (1f 8b). A path
/// ending in .gz that is not gzip is an error. Raw files are mapped; gzip files are decompressed
/// once into the cache directory and mapped from there afterwards.
Bytes read_maybe_gzip(const std::string& path, const char* op, size_t max_bytes = size_t{1} << 30);

/// Where the decompressed copy of gzip file `path` is cached: a name derived from the file's
/// absolute path, size and modification time (so an edited file is decompressed again) inside
/// $MINIDL_CACHE_DIR, else $XDG_CACHE_HOME/minidl, else $HOME/.cache/minidl. Empty when none of
/// these is set or MINIDL_CACHE_DIR is "off": then every read decompresses in memory.
std::string cached_decompression_path(const std::string& path);

}  // namespace minidl::data
