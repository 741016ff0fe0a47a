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
#include <vector>

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

namespace {

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// What is at `name` in `dir_fd`, as the policy sees it (see the header): a device, FIFO, socket or
// directory, or a link to one, throws RefusedOutput. True, with its stat in `existing`, when a
// regular file is there; false when nothing is, or a link that writing replaces.
bool inspect_target(int dir_fd, const std::string& name, const std::string& path, const char* op,
                    struct stat* existing) {
  struct stat st {};
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    check(errno == ENOENT, op, ": ", path, ": cannot inspect it: ", std::strerror(errno));
    return false;
  }
  if (S_ISREG(st.st_mode)) {
    *existing = st;
    return true;
  }
  if (S_ISLNK(st.st_mode)) {
    struct stat to {};
    if (::fstatat(dir_fd, name.c_str(), &to, 0) == 0 && !S_ISREG(to.st_mode))
      throw RefusedOutput(str_cat(op, ": ", path, ": is a link to ", kind_of(to.st_mode),
                                  "; an output must be a regular file"));
    return false;  // replaced by the rename, never written through
  }
  throw RefusedOutput(str_cat(op, ": ", path, ": is ", kind_of(st.st_mode), "; an output must be a regular file"));
}

// A rewrite keeps the file's permission bits and, where this process may set it, its owner.
void keep_metadata(int fd, const struct stat& st) {
  if (st.st_uid != ::geteuid() || st.st_gid != ::getegid()) (void)!::fchown(fd, st.st_uid, st.st_gid);
  ::fchmod(fd, st.st_mode & 07777);  // after fchown, which clears set-id bits
}

// A new file for `name` in `dir_fd`: unnamed where the filesystem allows (`temp` stays empty), else
// under a random temporary name (in `temp`); locked, so that no cleanup removes it.
int create_temporary(int dir_fd, const std::string& name, const std::string& path, const char* op, mode_t mode,
                     std::string& temp) {
  remove_stale_temporaries(dir_fd, name);
  int fd = -1;
  // Naming an unnamed file goes through /proc/self/fd (linkat's AT_EMPTY_PATH needs a capability).
  if (unnamed_temporaries && ::access("/proc/self/fd", X_OK) == 0) {
    fd = ::openat(dir_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
    // A filesystem (or kernel) without O_TMPFILE: create the temporary by name below.
    if (fd < 0 && errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
      fail(op, ": ", path, ": cannot create a temporary file in its directory: ", std::strerror(errno));
  }
  for (int attempt = 0; fd < 0; ++attempt) {
    temp = temporary_name(name);
    fd = ::openat(dir_fd, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0 && (errno != EEXIST || attempt == 100))
      fail(op, ": ", path, ": cannot create a temporary file in its directory: ", std::strerror(errno));
  }
  ::flock(fd, LOCK_EX);
  return fd;
}

// Gives the temporary a name if it has none, and renames it over `name`.
void publish(int dir_fd, int fd, std::string& temp, const std::string& name, const std::string& path,
             const char* op) {
  if (temp.empty()) {
    const std::string self = "/proc/self/fd/" + std::to_string(fd);
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
}

int open_directory_of(const std::string& path, const char* op, std::string* name) {
  const std::filesystem::path target(path);
  const std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
  check(!path.empty(), op, ": an empty path names no file");
  *name = target.filename().string();
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  check(fd >= 0, op, ": ", path, ": cannot create a temporary file in ", dir, ": ", std::strerror(errno));
  return fd;
}

}  // namespace

void write_file_atomically_at(int dir_fd, const std::string& name,
                              std::initializer_list<std::span<const uint8_t>> parts, const std::string& path,
                              const char* op, mode_t mode) {
  check(!name.empty() && name != "." && name != "..", op, ": ", path, ": not a file name");
  struct stat existing {};
  const bool replaces_file = inspect_target(dir_fd, name, path, op, &existing);
  Fd file;
  std::string temp;  // the temporary's name, once it has one
  file.fd = create_temporary(dir_fd, name, path, op, mode, temp);
  try {
    if (replaces_file) keep_metadata(file.fd, existing);
    for (const auto& part : parts) write_all(file.fd, part, path, op);
    check(::fsync(file.fd) == 0, op, ": ", path, ": fsync failed: ", std::strerror(errno));
    publish(dir_fd, file.fd, temp, name, path, op);
  } catch (...) {
    if (!temp.empty()) ::unlinkat(dir_fd, temp.c_str(), 0);
    throw;
  }
  ::fsync(dir_fd);  // makes the rename itself durable
}

void check_output_target(const std::string& path, const char* op) {
  if (path.empty()) throw RefusedOutput(str_cat(op, ": an empty path names no file"));
  std::string name;
  Fd dir;
  const std::filesystem::path target(path);
  const std::string dir_name = target.has_parent_path() ? target.parent_path().string() : ".";
  name = target.filename().string();
  dir.fd = ::open(dir_name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir.fd < 0)
    throw RefusedOutput(str_cat(op, ": cannot write to directory '", dir_name, "' (", std::strerror(errno), ")"));
  if (name.empty() || name == "." || name == "..")
    throw RefusedOutput(str_cat(op, ": ", path, ": names a directory, not a file"));
  struct stat existing {};
  inspect_target(dir.fd, name, path, op, &existing);
  if (::faccessat(dir.fd, ".", W_OK, AT_EACCESS) != 0)
    throw RefusedOutput(str_cat(op, ": cannot write to directory '", dir_name, "' (", std::strerror(errno), ")"));
}

namespace {

// The identity of a file for check_distinct_outputs: "dev:ino" where it exists, else its path. An
// output's link is its own identity (the link is replaced, not written through); an input's link is
// its target's (that is what is read).
std::string identity(const std::string& path, bool follow) {
  struct stat st {};
  if ((follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st)) == 0)
    return str_cat("inode ", static_cast<unsigned long long>(st.st_dev), ':',
                   static_cast<unsigned long long>(st.st_ino));
  std::error_code ec;
  const std::filesystem::path p = std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec);
  return "path " + (ec ? std::filesystem::path(path).lexically_normal().string() : p.lexically_normal().string());
}

}  // namespace

void check_distinct_outputs(const std::vector<NamedFile>& outputs, const std::vector<NamedFile>& inputs) {
  std::vector<std::string> ids;
  for (const NamedFile& o : outputs) ids.push_back(o.path.empty() ? "" : identity(o.path, false));
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (ids[i].empty()) continue;
    for (size_t j = 0; j < i; ++j)
      if (ids[j] == ids[i])
        throw RefusedOutput(str_cat(outputs[j].flag, " '", outputs[j].path, "' and ", outputs[i].flag, " '",
                                    outputs[i].path, "' are the same file: one would overwrite the other"));
    for (const NamedFile& in : inputs)
      if (!in.path.empty() && (identity(in.path, true) == ids[i] || identity(in.path, false) == ids[i]))
        throw RefusedOutput(str_cat(outputs[i].flag, " '", outputs[i].path, "' is the same file as ", in.flag, " '",
                                    in.path, "': writing it would destroy the input"));
  }
}

void write_text_atomically(const std::string& path, std::string_view text, const char* op, mode_t mode) {
  write_file_atomically(path, {std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size())}, op, mode);
}

OutputFile::OutputFile(const std::string& path, const char* op, bool append) : path_(path), op_(op) {
  std::string name;
  Fd dir;
  dir.fd = open_directory_of(path, op, &name);
  check(!name.empty() && name != "." && name != "..", op, ": ", path, ": not a file name");
  struct stat existing {};
  const bool is_file = inspect_target(dir.fd, name, path, op, &existing);
  if (append && is_file) {
    fd_ = ::openat(dir.fd, name.c_str(), O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    check(fd_ >= 0, op, ": ", path, ": cannot open it to append: ", std::strerror(errno));
    struct stat st {}, d {};
    ::fstat(fd_, &st);
    ::fstat(dir.fd, &d);
    // The same file inspected, and not a file another user left in a directory others may write.
    const bool same = S_ISREG(st.st_mode) && st.st_ino == existing.st_ino && st.st_dev == existing.st_dev;
    if (!same || (st.st_uid != ::geteuid() && (d.st_mode & (S_IWOTH | S_IWGRP)))) {
      ::close(fd_);
      throw RefusedOutput(str_cat(op, ": ", path, ": ", same ? "belongs to another user in a shared directory" :
                                                               "changed while it was opened"));
    }
    return;
  }
  std::string temp;
  fd_ = create_temporary(dir.fd, name, path, op, 0644, temp);
  try {
    if (is_file) keep_metadata(fd_, existing);
    publish(dir.fd, fd_, temp, name, path, op);
  } catch (...) {
    if (!temp.empty()) ::unlinkat(dir.fd, temp.c_str(), 0);
    ::close(fd_);
    throw;
  }
}

OutputFile::~OutputFile() {
  if (fd_ >= 0) ::close(fd_);
}

void OutputFile::write(std::string_view bytes) {
  write_all(fd_, std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), path_, op_);
}

PrivateDirectory::PrivateDirectory(const char* op) {
  std::error_code ec;
  std::string pattern = (std::filesystem::temp_directory_path(ec) / "minidl.XXXXXX").string();
  if (ec) pattern = "/tmp/minidl.XXXXXX";
  check(::mkdtemp(pattern.data()) != nullptr, op, ": cannot create a private directory in ", pattern, ": ",
        std::strerror(errno));
  path_ = pattern;
}

PrivateDirectory::~PrivateDirectory() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void publish_copy(const std::string& source, const std::string& path, const char* op) {
  Fd in;
  in.fd = ::open(source.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  check(in.fd >= 0, op, ": ", source, ": cannot open it: ", std::strerror(errno));
  struct stat st {};
  check(::fstat(in.fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= (off_t{1} << 30), op, ": ", source,
        ": not a regular file of at most 1 GiB");
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t r = ::read(in.fd, bytes.data() + got, bytes.size() - got);
    if (r < 0 && errno == EINTR) continue;
    check(r > 0, op, ": ", source, ": read failed");
    got += static_cast<size_t>(r);
  }
  write_file_atomically(path, {std::span<const uint8_t>(bytes)}, op);
}

bool use_unnamed_temporaries(bool use) { return std::exchange(unnamed_temporaries, use); }

void write_file_atomically(const std::string& path, std::initializer_list<std::span<const uint8_t>> parts,
                           const char* op, mode_t mode) {
  std::string name;
  Fd dir_fd;
  dir_fd.fd = open_directory_of(path, op, &name);
  write_file_atomically_at(dir_fd.fd, name, parts, path, op, mode);
}

}  // namespace minidl::data
