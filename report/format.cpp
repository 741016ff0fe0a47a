#include "report/format.h"

#include <cmath>
#include <cstdio>

#include "report/page.h"

namespace minidl::report {

std::string fixed(double v, int digits) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", digits, v);
  return text;
}

std::string general(double v) {
  char text[64];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

std::string percent(double fraction, int digits) {
  return std::isfinite(fraction) ? fixed(100 * fraction, digits) + "%" : "–";
}

std::string code(const std::string& text) { return "<code>" + escape_html(text) + "</code>"; }

std::string megabytes(size_t bytes) { return fixed(static_cast<double>(bytes) / 1e6, bytes < 100000 ? 2 : 1) + " MB"; }

std::vector<double> as_doubles(const std::vector<float>& v) { return {v.begin(), v.end()}; }

}  // namespace minidl::report
