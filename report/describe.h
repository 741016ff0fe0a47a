// A Describer's answers with its fallbacks (report/report.h): what the settings say as written when
// the program that ran the run gave no description of its own. Internal to the report module.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "report/report.h"

namespace minidl::report {

/// The summary's settings as JSON (an empty object when they are not readable JSON).
nlohmann::json settings_json(const RunSummary& run);
std::string model_name(const Describer& d, const RunSummary& run);
Facts settings_facts(const Describer& d, const RunSummary& run);
std::string optimizer_line(const Describer& d, const RunSummary& run);

}  // namespace minidl::report
