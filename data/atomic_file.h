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
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>

namespace minidl::data {

/// Writes the concatenation of `parts` to `path` as described above, with permissions `mode` (less
/// the umask) for a new file. Errors throw minidl::Error "<op>: <path>: …" with the OS error; the
/// previous file at `path` is then untouched.
void write_file_atomically(const std::string& path, std::initializer_list<std::span<const uint8_t>> parts,
                           const char* op, mode_t mode = 0644);

/// The same for `name` inside the open directory `dir_fd`; `path` names the file in errors.
void write_file_atomically_at(int dir_fd, const std::string& name,
                              std::initializer_list<std::span<const uint8_t>> parts, const std::string& path,
                              const char* op, mode_t mode);

/// For tests: false makes every write take the named-temporary path, as on a filesystem without
/// O_TMPFILE. Returns the previous setting.
bool use_unnamed_temporaries(bool use);

}  // namespace minidl::data
