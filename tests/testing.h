// Helpers shared by the test suites.
#pragma once

#include <string>

#include "core/error.h"

/// The message of the minidl::Error that f() throws, or "" when it throws none.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const minidl::Error& e) {
    return e.what();
  }
  return "";
}
