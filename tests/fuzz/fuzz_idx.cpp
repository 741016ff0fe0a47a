// libFuzzer target: the IDX reader on arbitrary bytes, raw or gzip (the MNIST files users download).
// Anything but a minidl::Error is a finding: a crash, a sanitizer report, a hang or a huge allocation.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "data/file_bytes.h"
#include "data/idx_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const std::span<const uint8_t> input(data, size);
    const minidl::data::IdxArray a =
        minidl::data::is_gzip(input)
            ? minidl::data::gunzip_idx(input, "fuzz.gz", size_t{64} << 20)
            : minidl::data::parse_idx(minidl::data::Bytes(std::vector<uint8_t>(data, data + size)), "fuzz");
    uint64_t sum = 0;  // touch every element the reader claims to hold
    for (uint8_t v : a.data) sum += v;
    volatile uint64_t sink = sum;
    (void)sink;
  } catch (const minidl::Error&) {
  }
  return 0;
}
