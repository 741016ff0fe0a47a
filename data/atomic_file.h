// Writing a file so that a reader sees the old contents or the new, never a mix, and so that
// nothing already in the directory is followed or truncated on the way.
//
// The bytes go to an unnamed file in the target's directory (O_TMPFILE), are fsynced, get a
// temporary name (linkat) and are renamed over the target, and the directory is fsynced. rename
// replaces a link planted at the target instead of writing through it, and an unnamed file has no
// name at which another user could have planted one. Where the filesystem has no O_TMPFILE (NFS,
// vfat…) the temporary is created by name: "<target>.tmp.<16 random hex digits>", opened with
// O_CREAT | O_EXCL | O_NOFOLLOW, so that an existing file or link there fails the open rather than
// being followed. Either way the writer holds an flock on its temporary until the rename; a later
// write of the same target removes a leftover temporary (its writer killed before the rename) only
// when that lock is free — no live process holds it, in any pid namespace — it belongs to this
// user and it is over a minute old.
//
// This file is minidl's one output policy (docs/reliability.md, "Outputs"), used by every writer:
//   - the target must be absent, a regular file, or a link that is replaced rather than followed;
//     a device, FIFO, socket or directory (or a link to one) is refused with RefusedOutput, naming
//     the path and what it is — nothing is written, the node is unchanged;
//   - an existing file keeps its permission bits and, where the process may set it, its owner: a
//     rewrite never widens a 0600 file;
//   - every write error (ENOSPC, EFBIG…) throws, and the previous file is left as it was;
//   - streamed outputs (OutputFile: --metrics, --telemetry) are created the same way, as an unnamed
//     file renamed over the target when opened, then appended to through that descriptor; appending
//     to an existing file (a resumed run's --metrics) opens it with O_NOFOLLOW | O_NONBLOCK and
//     requires a regular file that is the user's or in a directory no one else may write;
//   - check_distinct_outputs refuses, before any work, two outputs that are the same file and an
//     output that is the same file as an input (same device and inode, else the same normalized path).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace minidl::data {

/// An output target the policy refuses (a device, FIFO, socket, directory, a link to one, the same
/// file as another output or an input): a bad command line, so the CLI exits 2.
class RefusedOutput : public Error {
 public:
  using Error::Error;
};

/// Refuses `path` as an output target if it is anything but absent, a regular file, or a link to a
/// regular file or to nothing (replaced, not followed, when written). Throws RefusedOutput
/// "<op>: <path>: is a character device; an output must be a regular file".
void check_output_target(const std::string& path, const char* op);

/// One output or input of a command: the flag that names it and its path.
struct NamedFile {
  std::string flag, path;
};
/// Throws RefusedOutput when two of `outputs` are the same file, or one of them is the same file as
/// one of `inputs` (device and inode where the file exists, the normalized absolute path otherwise).
void check_distinct_outputs(const std::vector<NamedFile>& outputs, const std::vector<NamedFile>& inputs = {});

/// Writes the concatenation of `parts` to `path` as described above, with permissions `mode` (less
/// the umask) for a new file. Errors throw minidl::Error "<op>: <path>: …" with the OS error; the
/// previous file at `path` is then untouched.
void write_file_atomically(const std::string& path, std::initializer_list<std::span<const uint8_t>> parts,
                           const char* op, mode_t mode = 0644);

/// The same for `name` inside the open directory `dir_fd`; `path` names the file in errors.
void write_file_atomically_at(int dir_fd, const std::string& name,
                              std::initializer_list<std::span<const uint8_t>> parts, const std::string& path,
                              const char* op, mode_t mode);

/// write_file_atomically for text.
void write_text_atomically(const std::string& path, std::string_view text, const char* op, mode_t mode = 0644);

/// A streamed output (a log written during a run), created under the policy above; write errors
/// throw "<op>: <path>: write failed: <OS error>".
class OutputFile {
 public:
  /// `append`: keep an existing regular file's contents and add to them.
  OutputFile(const std::string& path, const char* op, bool append = false);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  void write(std::string_view bytes);
  const std::string& path() const { return path_; }
  int fd() const { return fd_; }  // to hand to a child process as its stdout

 private:
  int fd_ = -1;
  std::string path_;
  const char* op_;
};

/// A directory only this user may enter (mkdtemp under $TMPDIR), removed with what is in it: where
/// another program (Graphviz's dot, matplotlib) writes a file, which publish_copy then publishes.
class PrivateDirectory {
 public:
  explicit PrivateDirectory(const char* op);
  ~PrivateDirectory();
  PrivateDirectory(const PrivateDirectory&) = delete;
  PrivateDirectory& operator=(const PrivateDirectory&) = delete;
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// Writes the regular file `source` (at most 1 GiB) to `path` under the policy above.
void publish_copy(const std::string& source, const std::string& path, const char* op);

/// For tests: false makes every write take the named-temporary path, as on a filesystem without
/// O_TMPFILE. Returns the previous setting.
bool use_unnamed_temporaries(bool use);

}  // namespace minidl::data
