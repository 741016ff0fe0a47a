#include "data/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <random>
#include <utility>

#include "core/error.h"

namespace minidl::data {

namespace {

bool unnamed_temporaries = true;

constexpr const char* kTempInfix = ".tmp.";
constexpr size_t kTempDigits = 16;
constexpr time_t kStaleSeconds = 60;

// "<name>.tmp.<16 hex digits>" from the kernel's random source: not guessable from a pid.
std::string temporary_name(const std::string& name) {
  uint64_t r = 0;
  if (::getrandom(&r, sizeof r, 0) != static_cast<ssize_t>(sizeof r)) {
    std::random_device device;
    r = uint64_t{device()} << 32 | device();
  }
  char hex[kTempDigits + 1];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(r));
  return name + kTempInfix + hex;
}

bool is_temporary_of(const std::string& entry, const std::string& name) {
  const std::string prefix = name + kTempInfix;
  return entry.size() == prefix.size() + kTempDigits && entry.starts_with(prefix) &&
         entry.find_first_not_of("0123456789abcdef", prefix.size()) == std::string::npos;
}

// Leftover temporaries of `name` whose writer is gone: see the header. The lock proves it, not a
// pid (pids repeat, and another pid namespace's writer is invisible to kill()).
void remove_stale_temporaries(int dir_fd, const std::string& name) {
  const int list_fd = ::dup(dir_fd);
  if (list_fd < 0) return;
  DIR* dir = ::fdopendir(list_fd);
  if (!dir) {
    ::close(list_fd);
    return;
  }
  ::rewinddir(dir);
  const time_t now = ::time(nullptr);
  while (const dirent* e = ::readdir(dir)) {
    if (!is_temporary_of(e->d_name, name)) continue;
    const int fd = ::openat(dir_fd, e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) continue;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid() &&
        now - st.st_mtime >= kStaleSeconds && ::flock(fd, LOCK_EX | LOCK_NB) == 0)
      ::unlinkat(dir_fd, e->d_name, 0);
    ::close(fd);
  }
  ::closedir(dir);
}

void write_all(int fd, std::span<const uint8_t> bytes, const std::string& path, const char* op) {
  const uint8_t* p = bytes.data();
  size_t n = bytes.size();
  while (n > 0) {
    const ssize_t w = ::write(fd, p, std::min<size_t>(n, size_t{1} << 30));
    if (w < 0 && errno == EINTR) continue;
    check(w > 0, op, ": ", path, ": write failed: ", std::strerror(w < 0 ? errno : EIO));
    p += w;
    n -= static_cast<size_t>(w);
  }
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

void write_file_atomically_at(int dir_fd, const std::string& name,
                              std::initializer_list<std::span<const uint8_t>> parts, const std::string& path,
                              const char* op, mode_t mode) {
  check(!name.empty() && name != "." && name != "..", op, ": ", path, ": not a file name");
  remove_stale_temporaries(dir_fd, name);
  Fd file;
  std::string temp;  // the temporary's name, once it has one
  // Naming an unnamed file goes through /proc/self/fd (linkat's AT_EMPTY_PATH needs a capability).
  const bool unnamed = unnamed_temporaries && ::access("/proc/self/fd", X_OK) == 0;
  if (unnamed) {
    file.fd = ::openat(dir_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
    // A filesystem (or kernel) without O_TMPFILE: create the temporary by name below.
    if (file.fd < 0 && errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
      fail(op, ": ", path, ": cannot create a temporary file in its directory: ", std::strerror(errno));
  }
  for (int attempt = 0; file.fd < 0; ++attempt) {
    temp = temporary_name(name);
    file.fd = ::openat(dir_fd, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (file.fd < 0 && (errno != EEXIST || attempt == 100))
      fail(op, ": ", path, ": cannot create a temporary file in its directory: ", std::strerror(errno));
  }
  ::flock(file.fd, LOCK_EX);  // ours from creation: a cleanup elsewhere never removes it
  try {
    for (const auto& part : parts) write_all(file.fd, part, path, op);
    check(::fsync(file.fd) == 0, op, ": ", path, ": fsync failed: ", std::strerror(errno));
    if (temp.empty()) {
      const std::string self = "/proc/self/fd/" + std::to_string(file.fd);
      for (int attempt = 0; temp.empty(); ++attempt) {
        temp = temporary_name(name);
        if (::linkat(AT_FDCWD, self.c_str(), dir_fd, temp.c_str(), AT_SYMLINK_FOLLOW) != 0) {
          check(errno == EEXIST && attempt < 100, op, ": ", path,
                ": cannot name the temporary file: ", std::strerror(errno));
          temp.clear();
        }
      }
    }
    if (::renameat(dir_fd, temp.c_str(), dir_fd, name.c_str()) != 0)
      fail(op, ": ", path, ": cannot rename ", temp, " over it: ", std::strerror(errno));
  } catch (...) {
    if (!temp.empty()) ::unlinkat(dir_fd, temp.c_str(), 0);
    throw;
  }
  ::fsync(dir_fd);  // makes the rename itself durable
}

bool use_unnamed_temporaries(bool use) { return std::exchange(unnamed_temporaries, use); }

void write_file_atomically(const std::string& path, std::initializer_list<std::span<const uint8_t>> parts,
                           const char* op, mode_t mode) {
  const std::filesystem::path target(path);
  const std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
  Fd dir_fd;
  dir_fd.fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  check(dir_fd.fd >= 0, op, ": ", path, ": cannot create a temporary file in ", dir, ": ", std::strerror(errno));
  write_file_atomically_at(dir_fd.fd, target.filename().string(), parts, path, op, mode);
}

}  // namespace minidl::data
