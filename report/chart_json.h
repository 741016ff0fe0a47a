// A chart as the page's script (report/assets/report.js) reads it. Internal: nlohmann-json is a
// private dependency of the library, so no public header names it.
#pragma once

#include <nlohmann/json.hpp>

#include "report/chart.h"

namespace minidl::report {

/// The chart as report.js reads it; values rounded to 5 significant digits, non-finite as null.
nlohmann::json to_json(const Chart& chart);

}  // namespace minidl::report
