// Reading whole files, plain or gzip-compressed, with errors that name the path.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace minidl::data {

/// The bytes of `path`. `op` prefixes error messages ("read_idx: data/x: cannot open: …").
std::vector<uint8_t> read_file(const std::string& path, const char* op);

/// The bytes of `path`, decompressed when the file starts with the gzip magic (1f 8b). A path
/// ending in .gz that is not gzip, corrupt or truncated gzip, and output over `max_bytes` are errors.
std::vector<uint8_t> read_maybe_gzip(const std::string& path, const char* op, size_t max_bytes = size_t{1} << 30);

}  // namespace minidl::data
