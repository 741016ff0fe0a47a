// libFuzzer target: the run summary reader of reports (report/run_summary.h) on arbitrary bytes,
// then the settings in it as `minidl report` reads them (cli/run_record.h, config_of) and a language
// model's fields as its sections read and draw them (report/language_model.h): JSON nested
// at most 64 levels, every field checked; anything but a minidl::Error is a finding (nlohmann's own
// exceptions included: they must be turned into Errors naming the file).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cli/run_record.h"
#include "core/error.h"
#include "report/language_model.h"
#include "report/run_summary.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const minidl::report::RunSummary r =
        minidl::report::summary_from_text(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
    (void)r.epochs.size();
    minidl::report::Page page("fuzz", "fuzz", "fuzz");
    minidl::report::add_language_model_sections(r, page);
    (void)minidl::cli::config_of(r);
  } catch (const minidl::Error&) {
  }
  return 0;
}
