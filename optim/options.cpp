#include "optim/options.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace minidl::optim {

bool parse_option(const std::string& text, float& value) {
  if (text.empty()) return false;
  char* end = nullptr;
  const float v = std::strtof(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(v)) return false;
  value = v;
  return true;
}

bool parse_option(const std::string& text, bool& value) {
  if (text == "true" || text == "1" || text == "yes" || text == "on") return value = true, true;
  if (text == "false" || text == "0" || text == "no" || text == "off") return value = false, true;
  return false;
}

bool parse_option(const std::string& text, int64_t& value) {
  if (text.empty()) return false;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (end != text.c_str() + text.size()) return false;
  value = v;
  return true;
}

bool parse_option(const std::string& text, Betas& value) {
  const size_t comma = text.find(',');
  if (comma == std::string::npos) return false;
  Betas v;
  if (!parse_option(text.substr(0, comma), v.first) || !parse_option(text.substr(comma + 1), v.second)) return false;
  value = v;
  return true;
}

// The shortest text that strtof reads back as the same float, written as "%g" writes it (0.0001,
// 1e-08): std::to_chars in general format at the fewest significant digits that round-trip (at
// most 9 for a float). 0.9999999f stays "0.9999999" and 1.f/3 "0.33333334", where "%g"'s fixed 6
// digits made them 1 and 0.333333 and so changed the hyperparameter a run used.
std::string format_option(float value) {
  char buf[48];
  for (int digits = 1;; ++digits) {
    const auto r = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::general, digits);
    float back = 0.f;
    std::from_chars(buf, r.ptr, back);
    if (back == value || digits >= 9 || !std::isfinite(value)) return std::string(buf, r.ptr);
  }
}
std::string format_option(bool value) { return value ? "true" : "false"; }
std::string format_option(int64_t value) { return std::to_string(value); }
std::string format_option(const Betas& value) { return format_option(value.first) + "," + format_option(value.second); }

const char* option_type(const float&) { return "a number"; }
const char* option_type(const bool&) { return "true or false"; }
const char* option_type(const int64_t&) { return "an integer"; }
const char* option_type(const Betas&) { return "two numbers, b1,b2"; }

std::pair<std::string, std::string> split_option(const std::string& text) {
  const size_t eq = text.find('=');
  check(eq != std::string::npos && eq > 0, "--opt: expected key=value, got '", text, "'");
  return {text.substr(0, eq), text.substr(eq + 1)};
}

}  // namespace minidl::optim
