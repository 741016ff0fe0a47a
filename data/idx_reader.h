// The IDX format of MNIST and Fashion-MNIST: a 4-byte magic (0, 0, element type, dimension
// count), the sizes as big-endian uint32, then the elements row-major. Files may be raw or gzip.
// reference: http://yann.lecun.com/exdb/mnist/ ("the IDX file format")
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <minidl/data/file_bytes.h>

namespace minidl::data {

struct IdxArray {
  std::vector<int64_t> dims;      // e.g. {60000, 28, 28}
  Bytes file;                     // the whole (decompressed) file, in memory
  std::span<const uint8_t> data;  // the elements inside `file`: row-major, dims' product bytes
};

/// Reads an IDX file of unsigned bytes (type 0x08), raw or gzip-compressed. Every inconsistency is a
/// minidl::Error naming the path and what is wrong: wrong magic, unsupported element type, a file
/// shorter or longer than its header says, or gzip trouble. A gzip file is decompressed once and
/// then read from the user's cache (data/decompression_cache.h), after checking the entry.
IdxArray read_idx(const std::string& path);

/// The dimensions a gzip-compressed IDX file's header states, inflating only the header; {} for a
/// file that is not gzip. What lets two files be checked against each other before either is
/// inflated (a 1 MB .gz claiming 1,369,000 images beside 2000 labels used to inflate 1 GB first).
std::vector<int64_t> gzip_idx_dims(const std::string& path);

/// Parses IDX bytes already in memory (`path` only names them in errors).
IdxArray parse_idx(Bytes bytes, const std::string& path);

/// Decompresses and parses gzip-compressed IDX bytes. The header is read first and states the size
/// exactly: decompression stops there (one byte more is an error), and a header promising more than
/// `max_bytes`, or more than the compressed bytes can expand to, is refused before anything is
/// allocated. So a small file cannot make the reader allocate or inflate more than its header says.
IdxArray gunzip_idx(std::span<const uint8_t> compressed, const std::string& path, size_t max_bytes = size_t{1} << 30);

}  // namespace minidl::data
