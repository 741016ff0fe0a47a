// libFuzzer target: the run summary reader of `minidl report` (cli/run_record.h) on arbitrary
// bytes: JSON nested at most 64 levels, every field checked; anything but a minidl::Error is a
// finding (nlohmann's own exceptions included: they must be turned into Errors naming the file).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cli/run_record.h"
#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const minidl::cli::RunRecord r =
        minidl::cli::run_record_from_text(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
    (void)r.epochs.size();
  } catch (const minidl::Error&) {
  }
  return 0;
}
