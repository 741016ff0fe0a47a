// JSON text of a file a report reads (a run summary, a telemetry line), parsed with bounded cost.
// Internal: nlohmann-json is a private dependency of the library.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace minidl::report {

/// At most 64 levels of nesting; an allocation failure and a syntax error are Errors naming `path`
/// (a syntax error by its byte offset only: no byte of a file that is not valid JSON reaches a
/// message). `what`: "a run summary", "minidl telemetry".
nlohmann::json parse_report_json(std::string_view text, const std::string& path, const char* what);

}  // namespace minidl::report
