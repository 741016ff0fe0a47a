// Checkpoint files in the safetensors format, so weights open in PyTorch, NumPy or anything else:
//   8 bytes   N, the header's length, little-endian uint64
//   N bytes   JSON: {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, …,
//                    "__metadata__": {"key": "value", …}}   (padded with spaces to 8-byte alignment)
//   the rest  the tensors' bytes, little-endian, at their data_offsets
// Writes go to an unnamed temporary file in the same directory, are flushed to disk, then renamed
// over the target (data/atomic_file.h): an interrupted save leaves the previous file intact, and no
// link planted in the directory is ever written through. minidl also stores a CRC-32 of the whole
// file in the metadata ("crc32", computed with those 8 hex digits as zeros) and checks it on load,
// so a truncated or bit-flipped file is refused rather than half-read. Files from other tools have
// no "crc32" and load unchecked, but as in the reference implementation their tensors' data_offsets
// must tile the data exactly: no overlap, no gap, no bytes after the last tensor.
// reference: https://github.com/huggingface/safetensors#format
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>

#include <minidl/core/tensor.h>

namespace minidl::data {

using Metadata = std::map<std::string, std::string>;

struct SafetensorsFile {
  NamedTensors tensors;  // in the order of their data in the file
  Metadata metadata;
};

/// Writes float32 and int32 tensors (any layout, CPU or not) and string metadata to `path`.
void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata = {});

/// Reads a safetensors file of F32 and I32 tensors. A bad length, corrupt JSON, unknown dtype,
/// offsets outside the file, not matching the shape, overlapping or leaving bytes unaccounted for:
/// minidl::Error naming the file. Only a regular file is read (a FIFO is refused, not waited on).
/// With `require_checksum`, a file without one is refused too (minidl's own checkpoints: a bit flip
/// in the key's name must not pass as a file from another tool).
SafetensorsFile load_safetensors(const std::string& path, bool require_checksum = false);

/// The same from bytes in memory; `path` only names them in errors.
SafetensorsFile parse_safetensors(std::span<const uint8_t> bytes, const std::string& path,
                                  bool require_checksum = false);

/// The metadata key that holds the file's CRC-32 (8 lowercase hex digits).
constexpr const char* kChecksumKey = "crc32";

}  // namespace minidl::data
