#include "data/file_bytes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace minidl::data {

Bytes::Bytes(std::vector<uint8_t> buffer) {
  auto owned = std::make_shared<const std::vector<uint8_t>>(std::move(buffer));
  data_ = owned->data();
  size_ = owned->size();
  owner_ = std::move(owned);
}

namespace {

// An open regular file and its size. O_NONBLOCK makes opening a FIFO return at once instead of
// waiting for a writer; it changes nothing for a regular file, the only kind read further.
struct RegularFile {
  int fd = -1;
  size_t size = 0;
  RegularFile(const std::string& path, const char* op) {
    fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    check(fd >= 0, op, ": ", path, ": cannot open: ", std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      const bool dir = S_ISDIR(st.st_mode), fifo = S_ISFIFO(st.st_mode);
      ::close(fd);
      fail(op, ": ", path, ": not a regular file (",
           dir    ? "a directory"
           : fifo ? "a FIFO"
                  : "a device or socket",
           "); give a file");
    }
    size = static_cast<size_t>(st.st_size);
  }
  ~RegularFile() { ::close(fd); }
  RegularFile(const RegularFile&) = delete;
  RegularFile& operator=(const RegularFile&) = delete;

  // Reads all `size` bytes; a file that shrinks meanwhile (another process truncating it) is an
  // error, not a short buffer.
  void read_into(uint8_t* out, const std::string& path, const char* op) const {
    size_t done = 0;
    while (done < size) {
      const ssize_t n = ::read(fd, out + done, std::min<size_t>(size - done, size_t{1} << 30));
      if (n < 0 && errno == EINTR) continue;
      check(n >= 0, op, ": ", path, ": read failed: ", std::strerror(errno));
      check(n > 0, op, ": ", path, ": the file shrank to ", done, " bytes while being read (it had ", size, ")");
      done += static_cast<size_t>(n);
    }
  }
};

}  // namespace

std::vector<uint8_t> read_file(const std::string& path, const char* op) {
  const RegularFile file(path, op);
  std::vector<uint8_t> bytes(file.size);
  file.read_into(bytes.data(), path, op);
  return bytes;
}

std::vector<uint8_t> read_file(const std::string& path, const char* op, size_t max_size, const char* what) {
  const RegularFile file(path, op);
  check(file.size <= max_size, op, ": ", path, ": ", file.size, " bytes, more than the ", max_size, " ", what,
        " may have");
  std::vector<uint8_t> bytes(file.size);
  file.read_into(bytes.data(), path, op);
  return bytes;
}

Bytes read_bytes(const std::string& path, const char* op) {
  const RegularFile file(path, op);
  std::shared_ptr<uint8_t[]> buffer(new uint8_t[std::max<size_t>(file.size, 1)]);  // not value-initialized
  file.read_into(buffer.get(), path, op);
  const uint8_t* data = buffer.get();
  return Bytes(std::shared_ptr<const void>(std::move(buffer), data), data, file.size);
}

bool is_gzip(std::span<const uint8_t> bytes) { return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b; }

struct GzipReader::State {
  z_stream z{};
  std::span<const uint8_t> compressed;
  std::string path;
  const char* op;
  bool done = false;
};

GzipReader::GzipReader(std::span<const uint8_t> compressed, std::string path, const char* op)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.compressed = compressed;
  s.path = std::move(path);
  s.op = op;
  check(inflateInit2(&s.z, 16 + MAX_WBITS) == Z_OK, op, ": ", s.path, ": zlib initialization failed");
  s.z.next_in = const_cast<uint8_t*>(compressed.data());
  s.z.avail_in = static_cast<uInt>(std::min<size_t>(compressed.size(), UINT32_MAX));
}

GzipReader::~GzipReader() { inflateEnd(&state_->z); }

size_t GzipReader::read(uint8_t* out, size_t n) {
  State& s = *state_;
  z_stream& z = s.z;
  size_t produced = 0;
  while (produced < n && !s.done) {
    // zlib counts in 32 bits: feed the input and take the output in pieces below 4 GiB.
    const auto consumed = static_cast<size_t>(z.next_in - s.compressed.data());
    if (z.avail_in == 0 && consumed < s.compressed.size())
      z.avail_in = static_cast<uInt>(std::min<size_t>(s.compressed.size() - consumed, UINT32_MAX));
    z.next_out = out + produced;
    z.avail_out = static_cast<uInt>(std::min<size_t>(n - produced, 1u << 30));
    const uInt room = z.avail_out;
    const int rc = inflate(&z, Z_NO_FLUSH);
    produced += room - z.avail_out;
    if (rc == Z_STREAM_END) {
      if (static_cast<size_t>(z.next_in - s.compressed.data()) == s.compressed.size())
        s.done = true;
      else
        check(inflateReset(&z) == Z_OK, s.op, ": ", s.path, ": zlib reset failed");  // another member follows
      continue;
    }
    // No progress with room left: the input ran out before the stream's end.
    if (rc == Z_BUF_ERROR && z.avail_out > 0) fail(s.op, ": ", s.path, ": truncated gzip data");
    check(rc == Z_OK || rc == Z_BUF_ERROR, s.op, ": ", s.path, ": corrupt gzip data (",
          z.msg ? z.msg : "corrupt gzip data", ")");
  }
  return produced;
}

}  // namespace minidl::data
