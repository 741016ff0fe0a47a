#include "data/decompression_cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/error.h"
#include "data/atomic_file.h"

namespace minidl::data {

namespace fs = std::filesystem;

static_assert(std::endian::native == std::endian::little, "cache entry headers are little-endian");

namespace {

// An entry: this header, then the decompressed bytes.
struct EntryHeader {
  char magic[8];
  uint64_t source_size;  // the compressed file's size and FNV-1a hash: which source this came from
  uint64_t source_hash;
  uint64_t payload_size;  // the decompressed bytes' size and CRC-32: that the entry is whole
  uint32_t payload_crc;
  uint32_t reserved = 0;
};
static_assert(sizeof(EntryHeader) == 40);
constexpr char kMagic[8] = {'m', 'i', 'n', 'i', 'd', 'l', 'z', '1'};
constexpr size_t kHashDigits = 16;

uint32_t crc32_of(std::span<const uint8_t> bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  for (size_t at = 0; at < bytes.size();) {  // zlib takes 32-bit lengths
    const auto n = static_cast<uInt>(std::min<size_t>(bytes.size() - at, 1u << 30));
    crc = crc32(crc, bytes.data() + at, n);
    at += n;
  }
  return static_cast<uint32_t>(crc);
}

// FNV-1a, 64 bits: the source's identity. Not CRC-32, which is linear: a stored (level 0) gzip
// ends with the CRC-32 of its data, and the file's own CRC-32 then comes out the same whatever the
// data (a test replaces a source that way). Not cryptographic either, and need not be: only this
// user and root can write the cache, and whoever can change the source controls the data anyway.
uint64_t fnv1a(std::span<const uint8_t> bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const uint8_t c : bytes) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

uint64_t fnv1a(const std::string& text) {
  return fnv1a(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

struct CacheDirectory {
  std::string path;  // empty: none
  bool chosen;       // by $MINIDL_CACHE_DIR, rather than minidl's default place
};

CacheDirectory cache_directory() {
  if (const char* d = std::getenv("MINIDL_CACHE_DIR"); d && *d) return {std::strcmp(d, "off") == 0 ? "" : d, true};
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return {std::string(x) + "/minidl", false};
  if (const char* h = std::getenv("HOME"); h && *h) return {std::string(h) + "/.cache/minidl", false};
  return {"", false};
}

std::string entry_name(const std::string& path) {
  std::error_code ec;
  const fs::path absolute = fs::absolute(path, ec);
  char hash[kHashDigits + 1];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(fnv1a(absolute.string())));
  std::string name = fs::path(path).filename().string();
  if (name.ends_with(".gz")) name.resize(name.size() - 3);
  return name + "." + hash;
}

// The cache directory, created (mode 0700) if missing, open; -1 when there is none or it is not
// this user's alone. The descriptor pins the directory that was checked: every later access is
// relative to it, so renaming another directory into its place changes nothing.
int open_cache_directory() {
  const auto [dir, chosen] = cache_directory();
  if (dir.empty()) return -1;
  for (fs::path prefix; const fs::path& part : fs::path(dir)) {
    prefix /= part;
    ::mkdir(prefix.c_str(), 0700);  // existing ones (EEXIST) are checked below, the last one only
  }
  // O_NOFOLLOW: a link at the cache directory's name (one planted to a root-only directory) is not
  // followed, and said so, once.
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    static std::atomic<bool> warned_link{false};
    if ((errno == ELOOP || errno == ENOTDIR) && fs::is_symlink(dir) && !warned_link.exchange(true))
      std::fprintf(stderr,
                   "minidl: warning: not using %s to cache decompressed files: it is a symbolic link (point "
                   "MINIDL_CACHE_DIR at the directory itself); decompressing in memory\n",
                   dir.c_str());
    return -1;
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_uid == ::geteuid() && (st.st_mode & 077) == 0) return fd;
  // minidl's own default directory, made 0755 by versions before this check: tightened, once. A
  // directory the user chose is left as it is (and not used).
  if (!chosen && st.st_uid == ::geteuid() && S_ISDIR(st.st_mode) && ::fchmod(fd, 0700) == 0) return fd;
  ::close(fd);
  static std::atomic<bool> warned{false};
  if (!warned.exchange(true))
    std::fprintf(stderr,
                 "minidl: warning: not using %s to cache decompressed files: it must belong to you (uid %u) with "
                 "mode 0700, and it belongs to uid %u with mode %04o (chmod 700 it, or point MINIDL_CACHE_DIR "
                 "elsewhere); decompressing in memory\n",
                 dir.c_str(), static_cast<unsigned>(::geteuid()), static_cast<unsigned>(st.st_uid),
                 static_cast<unsigned>(st.st_mode & 07777));
  return -1;
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// A candidate for eviction: a regular file of this user named "<…>.<16 hex digits>" that starts
// with an entry's magic, or with an IDX magic (an entry of the format before this one).
bool is_entry(int dir_fd, const char* name, struct stat& st) {
  const std::string s = name;
  const size_t dot = s.rfind('.');
  if (dot == std::string::npos || s.size() - dot - 1 != kHashDigits ||
      s.find_first_not_of("0123456789abcdef", dot + 1) != std::string::npos)
    return false;
  Fd file{::openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)};
  if (file.fd < 0 || ::fstat(file.fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) return false;
  char head[8] = {};
  if (::read(file.fd, head, sizeof head) < 3) return false;
  return std::memcmp(head, kMagic, sizeof kMagic) == 0 || (head[0] == 0 && head[1] == 0 && head[2] == 8);
}

// Removes the least recently used entries (oldest modification time: a hit touches it) until the
// cache holds at most the cap, never `keep`.
void evict(int dir_fd, const std::string& keep) {
  struct Entry {
    std::string name;
    uint64_t bytes;
    timespec used;
  };
  std::vector<Entry> entries;
  uint64_t total = 0;
  const int list_fd = ::dup(dir_fd);
  DIR* dir = list_fd >= 0 ? ::fdopendir(list_fd) : nullptr;
  if (!dir) {
    if (list_fd >= 0) ::close(list_fd);
    return;
  }
  ::rewinddir(dir);
  while (const dirent* e = ::readdir(dir)) {
    struct stat st {};
    if (!is_entry(dir_fd, e->d_name, st)) continue;
    entries.push_back({e->d_name, static_cast<uint64_t>(st.st_size), st.st_mtim});
    total += static_cast<uint64_t>(st.st_size);
  }
  ::closedir(dir);
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.used.tv_sec != b.used.tv_sec ? a.used.tv_sec < b.used.tv_sec : a.used.tv_nsec < b.used.tv_nsec;
  });
  const uint64_t cap = cache_max_bytes();
  for (const Entry& e : entries) {
    if (total <= cap) break;
    if (e.name == keep) continue;
    if (::unlinkat(dir_fd, e.name.c_str(), 0) == 0) total -= e.bytes;
  }
}

}  // namespace

uint64_t cache_max_bytes() {
  if (const char* v = std::getenv("MINIDL_CACHE_MAX_MB"); v && *v) {
    char* end = nullptr;
    const unsigned long long mb = std::strtoull(v, &end, 10);
    if (*end == '\0' && mb < (uint64_t{1} << 44)) return mb << 20;
  }
  return uint64_t{1} << 30;
}

std::string cached_decompression_path(const std::string& path) {
  const std::string dir = cache_directory().path;
  return dir.empty() ? std::string() : (fs::path(dir) / entry_name(path)).string();
}

std::optional<Bytes> find_cached_decompression(const std::string& path, std::span<const uint8_t> compressed) {
  Fd dir{open_cache_directory()};
  if (dir.fd < 0) return std::nullopt;
  Fd file{::openat(dir.fd, entry_name(path).c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)};
  struct stat st {};
  if (file.fd < 0 || ::fstat(file.fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid() ||
      static_cast<uint64_t>(st.st_size) < sizeof(EntryHeader))
    return std::nullopt;
  // Read, not mapped, like every input (data/file_bytes.h); the size is the file's own.
  const auto size = static_cast<size_t>(st.st_size);
  std::shared_ptr<uint8_t[]> buffer(new uint8_t[size]);
  for (size_t done = 0; done < size;) {
    const ssize_t n = ::read(file.fd, buffer.get() + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    done += static_cast<size_t>(n);
  }
  EntryHeader h;
  std::memcpy(&h, buffer.get(), sizeof h);
  const std::span<const uint8_t> payload(buffer.get() + sizeof h, size - sizeof h);
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0 || h.source_size != compressed.size() ||
      h.payload_size != payload.size() || h.source_hash != fnv1a(compressed) || h.payload_crc != crc32_of(payload))
    return std::nullopt;
  ::futimens(file.fd, nullptr);  // recently used: the last to be evicted
  const uint8_t* data = payload.data();
  return Bytes(std::shared_ptr<const void>(std::move(buffer), data), data, payload.size());
}

void store_decompression(const std::string& path, std::span<const uint8_t> compressed,
                         std::span<const uint8_t> decompressed) {
  if (sizeof(EntryHeader) + decompressed.size() > cache_max_bytes()) return;
  Fd dir{open_cache_directory()};
  if (dir.fd < 0) return;
  EntryHeader h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.source_size = compressed.size();
  h.payload_size = decompressed.size();
  h.source_hash = fnv1a(compressed);
  h.payload_crc = crc32_of(decompressed);
  const std::string name = entry_name(path);
  try {
    write_file_atomically_at(dir.fd, name, {std::span(reinterpret_cast<const uint8_t*>(&h), sizeof h), decompressed},
                             cached_decompression_path(path), "cache", 0600);
  } catch (const Error&) {
    return;  // a full disk or the like: the caller has the bytes already
  }
  evict(dir.fd, name);
}

}  // namespace minidl::data
