// Small text helpers the commands share: numbers at a fixed precision, lists split at a separator.
#pragma once

#include <string>
#include <vector>

#include "report/format.h"

namespace minidl::cli {

/// v with `digits` digits after the point, as printf's %.*f: fixed(0.98041, 2) → "0.98" (report/format.h's,
/// the one definition the reports and the commands share).
using report::fixed;

/// "a,b,,c" split at ',' → {"a", "b", "", "c"}: the fields between separators, empty ones kept (a
/// CSV line); a trailing separator adds no empty field.
std::vector<std::string> split(const std::string& text, char sep);
/// "sgd,adam," → {"sgd", "adam"}: a flag's comma-separated list, empty items dropped.
std::vector<std::string> split_list(const std::string& text);

}  // namespace minidl::cli
