// The doctest runner shared by every test executable.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "testing.h"

#if defined(__SANITIZE_ADDRESS__)
// Let a failed allocation return null, as malloc does, instead of ASan ending the process: the
// out-of-memory errors are part of what the suite tests.
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1"; }
#endif

namespace {

// CTest runs each case as `--test-case=<name>`, and a name that CMake or doctest splits (at a ';')
// matches nothing — and a run of nothing passes. Five cases went unrun that way; counting what ran
// turns it into a failure.
int cases_run = -1;
int cases_skipped = 0;

struct CountCases : minidl::testing::RunListener {
  using RunListener::RunListener;
  void test_run_end(const doctest::TestRunStats& stats) override {
    cases_run = static_cast<int>(stats.numTestCasesPassingFilters);
  }
};
REGISTER_LISTENER("count-cases", 1, CountCases);

}  // namespace

void minidl::testing::skip(const std::string& why) {
  std::fprintf(stderr, "SKIPPED %s: %s\n",
               doctest::getContextOptions()->currentTest ? doctest::getContextOptions()->currentTest->m_name : "",
               why.c_str());
  ++cases_skipped;
}

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int result = context.run();
  if (context.shouldExit()) return result;
  if (cases_run == 0) {
    std::fprintf(stderr, "no test case matched the filter (a ';' in a test case's name splits it)\n");
    return 1;
  }
  if (result == 0 && cases_run > 0 && cases_skipped == cases_run) return 77;  // CTest: "Skipped"
  return result;
}
