// Helpers shared by the test suites.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <minidl/core/error.h>

namespace minidl::testing {
/// How far a float32 sum of n terms tᵢ (or a dot product of n pairs, tᵢ = aᵢbᵢ) may land from the
/// exact value, whatever order it adds them in: e(n)·Σ|tᵢ|, with
///   e(n) = min(γₙ, λ·√n·u),   u = 2⁻²⁴ (float32's unit roundoff),   γₙ = n·u / (1 − n·u),   λ = 8.
/// γₙ bounds every order (Higham, "Accuracy and Stability of Numerical Algorithms", §3.1 and §4.2);
/// for long sums it is far too loose to test anything, and λ·√n·u is Higham & Mary's probabilistic
/// bound (SIAM J. Sci. Comput. 41(5), 2019): with independent roundings a sum exceeds it with
/// probability below 2n·exp(−λ²/2) < 10⁻⁷ for n ≤ 10⁶. Σ|tᵢ| is what makes a sum hard: a result that
/// is a small difference of large terms carries an error of the terms' size, not of its own.
inline double sum_error_bound(int64_t n, double abs_sum) {
  constexpr double u = 0x1p-24, lambda = 8;
  const double nu = static_cast<double>(std::max<int64_t>(n, 1)) * u;
  const double gamma = nu < 1 ? nu / (1 - nu) : INFINITY;
  return std::min(gamma, lambda * std::sqrt(static_cast<double>(std::max<int64_t>(n, 1))) * u) * abs_sum;
}

/// How far apart two float32 evaluations of the same sum may land when they add its n terms in
/// different orders (thread splits, BLAS blockings, fused and unfused kernels, CPU and GPU): each is
/// within sum_error_bound of the exact value, and each rounds its result once more (u·|value|).
inline double reorder_tolerance(int64_t n, double abs_sum, double value) {
  return 2 * sum_error_bound(n, abs_sum) + 2 * 0x1p-24 * std::fabs(value);
}

/// got[i] against want[i], each a sum of n terms whose absolute values add up to abs_sums[i], within
/// reorder_tolerance (want may be a float32 result of another order, or exact).
template <class T>
void check_reordered(const std::vector<float>& got, const std::vector<T>& want, int64_t n,
                     const std::vector<double>& abs_sums) {
  REQUIRE(got.size() == want.size());
  REQUIRE(abs_sums.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    const double diff = std::fabs(static_cast<double>(got[i]) - static_cast<double>(want[i]));
    const double tol = reorder_tolerance(n, abs_sums[i], static_cast<double>(want[i]));
    INFO("element " << i << ": " << got[i] << " vs " << want[i] << ", " << n << " terms, sum of |terms| "
                    << abs_sums[i]);
    CHECK(diff <= tol);
  }
}
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
