#include "data/file_bytes.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/error.h"

namespace minidl::data {

std::vector<uint8_t> read_file(const std::string& path, const char* op) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  check(in.good(), op, ": ", path, ": cannot open: ", std::strerror(errno));
  const std::streamoff size = in.tellg();
  check(size >= 0, op, ": ", path, ": cannot read (not a regular file?)");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), size);
  check(in.good() || size == 0, op, ": ", path, ": read failed: ", std::strerror(errno));
  return bytes;
}

static bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

std::vector<uint8_t> read_maybe_gzip(const std::string& path, const char* op, size_t max_bytes) {
  std::vector<uint8_t> raw = read_file(path, op);
  const bool gzip = raw.size() >= 2 && raw[0] == 0x1f && raw[1] == 0x8b;
  if (!gzip) {
    check(!ends_with(path, ".gz"), op, ": ", path, ": not gzip data (the file is named .gz but does not start with ",
          "the gzip magic 1f 8b)");
    return raw;
  }
  // Inflate member after member (gzip allows several concatenated) into a growing buffer.
  std::vector<uint8_t> out;
  z_stream z{};
  check(inflateInit2(&z, 16 + MAX_WBITS) == Z_OK, op, ": ", path, ": zlib initialization failed");
  z.next_in = raw.data();
  z.avail_in = static_cast<uInt>(raw.size());
  int rc = Z_OK;
  while (true) {
    if (out.size() - z.total_out < 1 << 16) {
      if (out.size() >= max_bytes) {
        inflateEnd(&z);
        fail(op, ": ", path, ": decompresses to more than ", max_bytes, " bytes");
      }
      out.resize(std::min(max_bytes, std::max<size_t>(out.size() * 2, 1 << 20)));
    }
    z.next_out = out.data() + z.total_out;
    z.avail_out = static_cast<uInt>(std::min<size_t>(out.size() - z.total_out, 1u << 30));
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) break;
      const uLong produced = z.total_out;
      inflateReset(&z);  // another member follows
      z.total_out = produced;
      continue;
    }
    if (rc != Z_OK) {
      const std::string what = rc == Z_BUF_ERROR ? "truncated gzip data" : z.msg ? z.msg : "corrupt gzip data";
      inflateEnd(&z);
      fail(op, ": ", path, ": ", what == "truncated gzip data" ? what : "corrupt gzip data (" + what + ")");
    }
  }
  out.resize(z.total_out);
  inflateEnd(&z);
  return out;
}

}  // namespace minidl::data
