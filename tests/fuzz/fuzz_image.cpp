// libFuzzer target: the image loader (stb_image, then the resize to 28x28) on arbitrary bytes.
// stb is compiled into this target from its header (stb_impl.cpp) so that it is instrumented too.
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/error.h"
#include "data/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    (void)minidl::data::decode_image(std::span<const uint8_t>(data, size), "fuzz");
  } catch (const minidl::Error&) {
  }
  return 0;
}
