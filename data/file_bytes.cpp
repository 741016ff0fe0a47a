#include "data/file_bytes.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace minidl::data {

namespace fs = std::filesystem;

Bytes::Bytes(std::vector<uint8_t> buffer) {
  auto owned = std::make_shared<const std::vector<uint8_t>>(std::move(buffer));
  data_ = owned->data();
  size_ = owned->size();
  owner_ = std::move(owned);
}

std::vector<uint8_t> read_file(const std::string& path, const char* op) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  check(in.good(), op, ": ", path, ": cannot open: ", std::strerror(errno));
  const std::streamoff size = in.tellg();
  check(size >= 0, op, ": ", path, ": cannot read (not a regular file?)");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), size);
  check(in.good() || size == 0, op, ": ", path, ": read failed: ", std::strerror(errno));
  return bytes;
}

Bytes map_file(const std::string& path, const char* op) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  check(fd >= 0, op, ": ", path, ": cannot open: ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(op, ": ", path, ": cannot read (not a regular file?)");
  }
  const auto size = static_cast<size_t>(st.st_size);
  if (size == 0) {
    ::close(fd);
    return Bytes(std::vector<uint8_t>{});
  }
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int err = errno;
  ::close(fd);  // the mapping keeps the file alive
  check(p != MAP_FAILED, op, ": ", path, ": cannot map: ", std::strerror(err));
  std::shared_ptr<const void> owner(p, [size](const void* q) { ::munmap(const_cast<void*>(q), size); });
  return Bytes(std::move(owner), static_cast<const uint8_t*>(p), size);
}

std::vector<uint8_t> gunzip(std::span<const uint8_t> compressed, const std::string& path, const char* op,
                            size_t max_bytes) {
  // Inflate member after member (gzip allows several concatenated) into a growing buffer.
  std::vector<uint8_t> out;
  z_stream z{};
  check(inflateInit2(&z, 16 + MAX_WBITS) == Z_OK, op, ": ", path, ": zlib initialization failed");
  z.next_in = const_cast<uint8_t*>(compressed.data());
  z.avail_in = static_cast<uInt>(compressed.size());
  while (true) {
    if (out.size() - z.total_out < 1 << 16) {
      if (out.size() >= max_bytes) {
        inflateEnd(&z);
        fail(op, ": ", path, ": decompresses to more than ", max_bytes, " bytes");
      }
      out.resize(std::min(max_bytes, std::max<size_t>(out.size() * 2, 1 << 20)));
    }
    z.next_out = out.data() + z.total_out;
    z.avail_out = static_cast<uInt>(std::min<size_t>(out.size() - z.total_out, 1u << 30));
    const int rc = inflate(&z, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) break;
      const uLong produced = z.total_out;
      inflateReset(&z);  // another member follows
      z.total_out = produced;
      continue;
    }
    if (rc != Z_OK) {
      const std::string what = rc == Z_BUF_ERROR ? "truncated gzip data" : z.msg ? z.msg : "corrupt gzip data";
      inflateEnd(&z);
      fail(op, ": ", path, ": ", what == "truncated gzip data" ? what : "corrupt gzip data (" + what + ")");
    }
  }
  out.resize(z.total_out);
  inflateEnd(&z);
  return out;
}

namespace {

bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

uint64_t fnv1a(const std::string& text, uint64_t h = 0xcbf29ce484222325ull) {
  for (const unsigned char c : text) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// Writes `bytes` to `path` through a temporary file and rename, so that a reader never maps a
// half-written cache entry. Failure only costs the cache: the caller has the bytes already.
void write_cache_entry(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out.good()) {
      fs::remove(tmp, ec);
      return;
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) fs::remove(tmp, ec);
}

}  // namespace

std::string cached_decompression_path(const std::string& path) {
  std::string dir;
  if (const char* d = std::getenv("MINIDL_CACHE_DIR"); d && *d) {
    if (std::strcmp(d, "off") == 0) return {};
    dir = d;
  } else if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) {
    dir = std::string(x) + "/minidl";
  } else if (const char* h = std::getenv("HOME"); h && *h) {
    dir = std::string(h) + "/.cache/minidl";
  } else {
    return {};
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  std::error_code ec;
  const fs::path absolute = fs::absolute(path, ec);
  const std::string key = detail::concat(absolute.string(), '\n', st.st_size, '\n', st.st_mtim.tv_sec, '.',
                                         st.st_mtim.tv_nsec);
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(fnv1a(key)));
  std::string name = fs::path(path).filename().string();
  if (ends_with(name, ".gz")) name.resize(name.size() - 3);
  return (fs::path(dir) / (name + "." + hash)).string();
}

Bytes read_maybe_gzip(const std::string& path, const char* op, size_t max_bytes) {
  Bytes raw = map_file(path, op);
  const bool gzip = raw.size() >= 2 && raw[0] == 0x1f && raw[1] == 0x8b;
  if (!gzip) {
    check(!ends_with(path, ".gz"), op, ": ", path, ": not gzip data (the file is named .gz but does not start with ",
          "the gzip magic 1f 8b)");
    return raw;
  }
  const std::string cached = cached_decompression_path(path);
  if (!cached.empty() && ::access(cached.c_str(), R_OK) == 0) return map_file(cached, op);
  std::vector<uint8_t> out = gunzip(raw.span(), path, op, max_bytes);
  if (!cached.empty()) write_cache_entry(cached, out);
  return Bytes(std::move(out));
}

}  // namespace minidl::data
