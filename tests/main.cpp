// The doctest runner shared by every test executable.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#if defined(__SANITIZE_ADDRESS__)
// Let a failed allocation return null, as malloc does, instead of ASan ending the process: the
// out-of-memory errors are part of what the suite tests.
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1"; }
#endif
