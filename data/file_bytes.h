// Reading whole files, plain or gzip-compressed, with errors that name the path.
//
// Files are read into memory, never memory-mapped: a mapping turns a truncation of the file by
// another process into SIGBUS at the next access to a lost page (a run died that way mid-epoch),
// while a copy taken at start stays valid whatever happens to the file afterwards. Only regular
// files are read: a FIFO would block in open() until a writer came, a device might never end.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace minidl::data {

/// Immutable bytes that keep their backing buffer alive; cheap to copy.
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

/// The bytes of regular file `path`. `op` prefixes error messages ("read_idx: data/x: cannot open:
/// …"); a FIFO, a directory or a device is refused without blocking.
std::vector<uint8_t> read_file(const std::string& path, const char* op);
/// The same for a file of at most `max_size` bytes: a larger one is refused, from its size, before
/// anything is allocated or read ("<op>: <path>: 3 GiB, more than the 16 MiB a … may be" is the
/// caller's to word: `what` names the kind of file, e.g. "a run summary").
std::vector<uint8_t> read_file(const std::string& path, const char* op, size_t max_size, const char* what);

/// The same as Bytes, in a buffer that is not zeroed first (MNIST's 47 MB are read straight in).
Bytes read_bytes(const std::string& path, const char* op);

/// True when `bytes` starts with the gzip magic 1f 8b.
bool is_gzip(std::span<const uint8_t> bytes);

/// Deflate's largest expansion: one byte of compressed data yields at most 1032 bytes (zlib's FAQ,
/// "Maximum compression ratio"). A header promising more than compressed size × this is a lie.
constexpr uint64_t kMaxDeflateRatio = 1032;

/// Inflates gzip data (concatenated members allowed) a piece at a time, so that a caller that
/// knows how much to expect stops there: a small file cannot make it allocate more than it asked.
class GzipReader {
 public:
  /// `compressed` must outlive the reader; `path` and `op` name it in errors.
  GzipReader(std::span<const uint8_t> compressed, std::string path, const char* op);
  ~GzipReader();
  GzipReader(const GzipReader&) = delete;
  GzipReader& operator=(const GzipReader&) = delete;

  /// Up to `n` more decompressed bytes into `out`; fewer only at the end of the data. Truncated or
  /// corrupt data: minidl::Error naming the path.
  size_t read(uint8_t* out, size_t n);

 private:
  struct State;  // zlib's stream, kept out of this header
  std::unique_ptr<State> state_;
};

}  // namespace minidl::data
