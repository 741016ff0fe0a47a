// Helpers shared by the test suites.
#pragma once

#include <string>

#include <minidl/core/error.h>

namespace minidl::testing {
/// Records that the running test case is skipped and why (printed at once). A test executable whose
/// every case that ran was skipped exits with 77, which CTest reports as "Skipped" (SKIP_RETURN_CODE).
void skip(const std::string& why);
}  // namespace minidl::testing

/// Ends the current test case as skipped, e.g. SKIP_TEST("no CUDA device: " + reason).
#define SKIP_TEST(why)            \
  do {                            \
    ::minidl::testing::skip(why); \
    return;                       \
  } while (0)

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
