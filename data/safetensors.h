// Checkpoint files in the safetensors format, so weights open in PyTorch, NumPy or anything else:
//   8 bytes   N, the header's length, little-endian uint64
//   N bytes   JSON: {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, …,
//                    "__metadata__": {"key": "value", …}}   (padded with spaces to 8-byte alignment)
//   the rest  the tensors' bytes, little-endian, at their data_offsets
// Writes go to a temporary file in the same directory, are flushed to disk, then renamed over the
// target: an interrupted save leaves the previous file intact.
// reference: https://github.com/huggingface/safetensors#format
#pragma once

#include <map>
#include <string>

#include "core/tensor.h"

namespace minidl::data {

using Metadata = std::map<std::string, std::string>;

struct SafetensorsFile {
  NamedTensors tensors;  // in the order of their data in the file
  Metadata metadata;
};

/// Writes float32 and int32 tensors (any layout, CPU or not) and string metadata to `path`.
void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata = {});

/// Reads a safetensors file of F32 and I32 tensors. A bad length, corrupt JSON, unknown dtype,
/// offsets outside the file or not matching the shape: minidl::Error naming the file.
SafetensorsFile load_safetensors(const std::string& path);

}  // namespace minidl::data
