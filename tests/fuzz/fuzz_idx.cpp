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
    std::vector<uint8_t> bytes(data, data + size);
    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b)
      bytes = minidl::data::gunzip(bytes, "fuzz.gz", "read_idx", size_t{64} << 20);
    const minidl::data::IdxArray a = minidl::data::parse_idx(minidl::data::Bytes(std::move(bytes)), "fuzz");
    uint64_t sum = 0;  // touch every element the reader claims to hold
    for (uint8_t v : a.data) sum += v;
    volatile uint64_t sink = sum;
    (void)sink;
  } catch (const minidl::Error&) {
  }
  return 0;
}
