// The CPU GEMM through whichever library runs it (kernels/cpu/gemm.cpp): OpenBLAS or oneDNN's
// sgemm. CTest runs this program three times, with MINIDL_GEMM=auto, openblas and onednn
// (tests/CMakeLists.txt), so both libraries meet the same cases on any machine that has both; the
// onednn entry skips visibly where libdnnl.so.2 is not installed or the build left it out.
//
// Each product is checked against a double-precision sum. A float32 dot product of k terms, summed
// in any order (blocked, FMA or not), is within k·u·Σ|a_il·b_lj| of the exact value (u = 2^-24, the
// unit roundoff; Higham, Accuracy and Stability of Numerical Algorithms, §3.1), so that bound, per
// element, is the tolerance: it holds for every kernel and every CPU.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/backend.h"
#include "kernels/cpu/cpu.h"
#include "testing.h"

using namespace minidl;
using kernels::GemmOperand;

namespace {

// The library this run asked for, or a skip reason when it cannot be had here.
std::string unavailable() {
  try {
    kernels::cpu::gemm_library();
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

struct Case {
  int64_t batch, m, n, k;
  bool ta, tb;
  int64_t pad;  // extra columns in every leading dimension, so ld > the row length
  float beta;
};

// Runs one case through cpu::gemm and compares every element with the double-precision product.
void check_case(const Case& c, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  const int64_t a_rows = c.ta ? c.k : c.m, a_cols = c.ta ? c.m : c.k;
  const int64_t b_rows = c.tb ? c.n : c.k, b_cols = c.tb ? c.k : c.n;
  const int64_t lda = a_cols + c.pad, ldb = b_cols + c.pad, ldc = c.n + c.pad;
  const int64_t sa = a_rows * lda, sb = b_rows * ldb, sc = c.m * ldc;
  std::vector<float> a(c.batch * sa), b(c.batch * sb), out(c.batch * sc);
  for (float& x : a) x = u(rng);
  for (float& x : b) x = u(rng);
  // beta = 0 must not read C (BLAS semantics): NaN there would otherwise reach the result.
  for (float& x : out) x = c.beta == 0.f ? std::numeric_limits<float>::quiet_NaN() : u(rng);
  const std::vector<float> before = out;
  kernels::cpu::gemm(c.batch, c.m, c.n, c.k, GemmOperand{a.data(), c.ta, lda, sa}, GemmOperand{b.data(), c.tb, ldb, sb},
                     out.data(), ldc, sc, c.beta);
  const double unit = std::ldexp(1.0, -24);
  for (int64_t p = 0; p < c.batch; ++p)
    for (int64_t i = 0; i < c.m; ++i)
      for (int64_t j = 0; j < ldc; ++j) {
        const int64_t at = p * sc + i * ldc + j;
        if (j >= c.n) {  // padding between rows is never written
          if (c.beta == 0.f) REQUIRE(std::isnan(out[at]));
          else REQUIRE(out[at] == before[at]);
          continue;
        }
        double exact = c.beta == 0.f ? 0.0 : double(c.beta) * before[at], magnitude = std::fabs(exact);
        for (int64_t l = 0; l < c.k; ++l) {
          const double x = a[p * sa + (c.ta ? l * lda + i : i * lda + l)];
          const double y = b[p * sb + (c.tb ? j * ldb + l : l * ldb + j)];
          exact += x * y;
          magnitude += std::fabs(x * y);
        }
        const double bound = (c.k + 2) * unit * magnitude + std::numeric_limits<float>::denorm_min();
        INFO("batch ", p, " row ", i, " col ", j, " of ", c.m, "x", c.n, "x", c.k, (c.ta ? " T" : " N"),
             (c.tb ? "T" : "N"), " beta ", c.beta);
        REQUIRE(std::fabs(out[at] - exact) <= bound);
      }
}

}  // namespace

TEST_CASE("gemm matches a double-precision product in every layout, through the library this run chose") {
  if (const std::string why = unavailable(); !why.empty()) SKIP_TEST(why);
  const char* asked = std::getenv("MINIDL_GEMM");
  MESSAGE("MINIDL_GEMM=", std::string(asked ? asked : "(unset)"), ": products run in ", gemm_library());
  if (asked && std::string(asked) != "auto") CHECK(gemm_library() == std::string(asked));
  std::mt19937 rng(7);
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      check_case({1, 1, 1, 1, ta, tb, 0, 0.f}, rng);
      check_case({1, 37, 53, 29, ta, tb, 3, 0.f}, rng);
      check_case({3, 17, 9, 64, ta, tb, 1, 1.f}, rng);      // accumulate, batched with strides
      check_case({1, 96, 114, 128, ta, tb, 0, 0.5f}, rng);  // the GPT head's vocabulary width
    }
  check_case({1, 768, 128, 512, false, true, 0, 0.f}, rng);  // a GPT step's shape, large enough for packing
  // The library named ran every product: none fell back to OpenBLAS unnoticed.
  CHECK(kernels::cpu::gemm_declined() == 0);
}

TEST_CASE("gemm with k = 0 scales C by beta, and an empty product writes nothing") {
  if (const std::string why = unavailable(); !why.empty()) SKIP_TEST(why);
  std::vector<float> c = {1.f, 2.f, 3.f, 4.f};
  const float none = 0.f;
  kernels::cpu::gemm(1, 2, 2, 0, GemmOperand{&none, false, 1, 0}, GemmOperand{&none, false, 2, 0}, c.data(), 2, 0, 0.5f);
  CHECK(c == std::vector<float>{0.5f, 1.f, 1.5f, 2.f});
  kernels::cpu::gemm(1, 0, 2, 3, GemmOperand{&none, false, 3, 0}, GemmOperand{&none, false, 2, 0}, c.data(), 2, 0, 0.f);
  CHECK(c == std::vector<float>{0.5f, 1.f, 1.5f, 2.f});
}

TEST_CASE("an unknown MINIDL_GEMM is refused with a message naming it") {
  // CTest runs this case alone, with MINIDL_GEMM=bogus (tests/CMakeLists.txt): the choice is made once
  // per process, so it cannot be tried after the other cases.
  const char* asked = std::getenv("MINIDL_GEMM");
  REQUIRE(asked != nullptr);
  REQUIRE(std::string(asked) == "bogus");
  CHECK(error_of([] { kernels::cpu::gemm_library(); }).find("MINIDL_GEMM='bogus'") != std::string::npos);
  CHECK(error_of([] { gemm_library(); }).find("expected auto, openblas or onednn") != std::string::npos);
}
