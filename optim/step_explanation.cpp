#include "optim/step_explanation.h"

#include <cstdio>

#include "optim/options.h"

namespace minidl::optim {

// + 0.0 turns −0 into 0 in both.
std::string explain_number(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.8g", value + 0.0);
  return buf;
}

std::string explain_option(float value) { return format_option(value + 0.f); }

}  // namespace minidl::optim
