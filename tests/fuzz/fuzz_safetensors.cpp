// libFuzzer target: the checkpoint (safetensors) reader on arbitrary bytes, with and without the
// checksum required. Anything but a minidl::Error is a finding.
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/error.h"
#include "data/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  for (const bool require_checksum : {false, true}) {
    try {
      const minidl::data::SafetensorsFile f =
          minidl::data::parse_safetensors(std::span<const uint8_t>(data, size), "fuzz", require_checksum);
      for (const auto& [name, t] : f.tensors) (void)t.numel();
    } catch (const minidl::Error&) {
    }
  }
  return 0;
}
