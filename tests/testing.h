// Helpers shared by the test suites.
#pragma once

#include <doctest/doctest.h>

#include <string>

#include <minidl/core/error.h>

namespace minidl::testing {
/// Records that the running test case is skipped and why (printed at once). A test executable whose
/// every case that ran was skipped exits with 77, which CTest reports as "Skipped" (SKIP_RETURN_CODE).
void skip(const std::string& why);

/// A doctest listener that hears only the start and the end of the run (register a subclass with
/// REGISTER_LISTENER): doctest's reporter interface has a dozen more events, all ignored here.
struct RunListener : doctest::IReporter {
  explicit RunListener(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};
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
