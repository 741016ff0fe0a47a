// The on-disk cache of decompressed .gz files, so that a second run skips the inflate (Fashion-MNIST
// ships gzipped). What it trusts and refuses (docs/reliability.md, "Threat model"):
//   - the directory: $MINIDL_CACHE_DIR, else $XDG_CACHE_HOME/minidl, else $HOME/.cache/minidl
//     ("off" or none of these: no cache). It is created with mode 0700; one that exists but is not
//     owned by this user, or that group or others may use, is not used (a warning, once), so only
//     this user and root can put anything in it (minidl's default directory, when it is this
//     user's, is set to 0700 instead: earlier versions made it 0755);
//   - an entry: read only when it is a regular file of this user (a planted link is not followed),
//     and used only when it matches the source it claims to come from — the compressed file's size
//     and 64-bit FNV-1a hash, stored in the entry — and itself — the payload's size and CRC-32. A
//     source replaced by another with the same size and time (cp -p), an entry edited or cut short:
//     all decompressed again. (Hashing costs about 25 ms per 10 MB of compressed file, against
//     inflating five times as many bytes.)
//   - writing: only data its caller has checked whole (no entry for a file that fails to parse),
//     through write_file_atomically (never through a link), one entry per source path; then the
//     oldest-used entries are removed until the cache holds at most $MINIDL_CACHE_MAX_MB MiB
//     (default 1024).
// Every failure of the cache only costs the cache: the caller decompresses in memory.
#pragma once

#include <optional>
#include <span>
#include <string>

#include <minidl/data/file_bytes.h>

namespace minidl::data {

/// Where the entry for compressed file `path` lives: a name derived from its absolute path inside
/// the cache directory. Empty when there is no cache directory (see above).
std::string cached_decompression_path(const std::string& path);

/// The decompressed bytes of `compressed` (the contents of file `path`) from a checked entry, or
/// nothing. A hit marks the entry as recently used.
std::optional<Bytes> find_cached_decompression(const std::string& path, std::span<const uint8_t> compressed);

/// Stores `decompressed` as the entry for `path`'s contents `compressed`, then trims the cache to
/// its size cap. Failures are silent (the cache is an optimization).
void store_decompression(const std::string& path, std::span<const uint8_t> compressed,
                         std::span<const uint8_t> decompressed);

/// The cap on the cache's total size in bytes: $MINIDL_CACHE_MAX_MB MiB, default 1 GiB.
uint64_t cache_max_bytes();

}  // namespace minidl::data
