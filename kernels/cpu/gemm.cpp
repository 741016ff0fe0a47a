// GEMM: OpenBLAS, or oneDNN's sgemm where it runs wider kernels. Row-major throughout; a transposed
// operand is passed with its own leading dimension, so views such as W.transpose(0, 1) are never
// copied. core/dispatch.cpp guarantees every size fits BLAS's 32-bit integers.
//
// Why two libraries: OpenBLAS picks its kernels once, when it is loaded, from OPENBLAS_CORETYPE or
// its own CPU table, and cannot be told to change them. An environment that pins it to "Haswell"
// (AVX2) on an AVX-512 CPU halves the GEMM rate: on Zen 5 the GPT's shapes ran at 91-107 GFLOP/s
// there and at 165-225 in oneDNN, which picks its kernels by CPUID flags whatever the environment
// says (docs/performance.md has the table). So where oneDNN's runtime library is installed and the
// CPU has AVX-512, its sgemm runs every product; otherwise, and whenever it declines one, OpenBLAS.
//
// oneDNN is loaded with dlopen, not linked: a build needs no oneDNN headers, a machine without the
// library runs OpenBLAS as before, and the prototype below is oneDNN's stable C API (dnnl.h:
// dnnl_sgemm, row-major, dnnl_dim_t = int64_t, returns dnnl_success = 0).
//
// The choice (MINIDL_GEMM, read once, at the first product):
//   auto      oneDNN when libdnnl.so.2 loads and the CPU has AVX-512F; else OpenBLAS (the default)
//   openblas  always OpenBLAS
//   onednn    oneDNN whatever the CPU (an error if the library cannot be loaded)
// A build configured with -DMINIDL_ONEDNN=OFF never loads oneDNN and accepts only auto/openblas.
#include <cblas.h>

#if MINIDL_WITH_ONEDNN
#include <dlfcn.h>
#endif

#include <cstdlib>
#include <string>
#include <string_view>

#include "kernels/cpu/cpu.h"
#include "kernels/error.h"

namespace minidl::kernels::cpu {

namespace {

using DnnlSgemm = int (*)(char transa, char transb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

struct GemmLibrary {
  DnnlSgemm dnnl = nullptr;  // null: OpenBLAS
  const char* name = "openblas";
};

#if MINIDL_WITH_ONEDNN
// dlopen's error, or the missing symbol; null sgemm when either failed.
DnnlSgemm load_onednn(std::string& why) {
  void* library = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    why = dlerror();
    return nullptr;
  }
  auto sgemm = reinterpret_cast<DnnlSgemm>(dlsym(library, "dnnl_sgemm"));
  if (!sgemm) why = "libdnnl.so.2 has no dnnl_sgemm";
  return sgemm;  // the library stays loaded for the life of the process
}
#endif

GemmLibrary choose() {
  const char* set = std::getenv("MINIDL_GEMM");
  const std::string_view want = set && *set ? set : "auto";
#if MINIDL_WITH_ONEDNN
  check(want == "auto" || want == "openblas" || want == "onednn", "MINIDL_GEMM='", want,
        "': expected auto, openblas or onednn");
  if (want == "openblas") return {};
  bool wide = false;
#if defined(__x86_64__)
  wide = __builtin_cpu_supports("avx512f");
#endif
  if (want == "auto" && !wide) return {};
  std::string why;
  DnnlSgemm sgemm = load_onednn(why);
  check(sgemm || want == "auto", "MINIDL_GEMM=onednn: cannot load oneDNN (", why,
        "); install libdnnl2 or set MINIDL_GEMM=openblas");
  if (!sgemm) return {};
  return {sgemm, "onednn"};
#else
  check(want == "auto" || want == "openblas", "MINIDL_GEMM='", want,
        "': this build has no oneDNN path (configured with -DMINIDL_ONEDNN=OFF); expected auto or openblas");
  return {};
#endif
}

const GemmLibrary& library() {
  static const GemmLibrary chosen = choose();  // thread-safe; a bad MINIDL_GEMM throws every time
  return chosen;
}

void openblas_gemm(int64_t m, int64_t n, int64_t k, const GemmOperand& a, const float* ap, const GemmOperand& b,
                   const float* bp, float* c, int64_t ldc, float beta) {
  cblas_sgemm(CblasRowMajor, a.transposed ? CblasTrans : CblasNoTrans, b.transposed ? CblasTrans : CblasNoTrans,
              static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.0f, ap, static_cast<int>(a.ld), bp,
              static_cast<int>(b.ld), beta, c, static_cast<int>(ldc));
}

}  // namespace

const char* gemm_library() { return library().name; }

void gemm(int64_t batch, int64_t m, int64_t n, int64_t k, GemmOperand a, GemmOperand b, float* c, int64_t ldc,
          int64_t c_batch_stride, float beta) {
  const DnnlSgemm dnnl = library().dnnl;
  for (int64_t i = 0; i < batch; ++i) {
    const float* ap = a.data + i * a.batch_stride;
    const float* bp = b.data + i * b.batch_stride;
    float* cp = c + i * c_batch_stride;
    // Empty products (k = 0 scales C by beta) and anything oneDNN refuses go to OpenBLAS, whose
    // BLAS semantics (beta = 0 never reads C) every caller relies on.
    if (dnnl && m > 0 && n > 0 && k > 0 &&
        dnnl(a.transposed ? 'T' : 'N', b.transposed ? 'T' : 'N', m, n, k, 1.0f, ap, a.ld, bp, b.ld, beta, cp, ldc) == 0)
      continue;
    openblas_gemm(m, n, k, a, ap, b, bp, cp, ldc, beta);
  }
}

}  // namespace minidl::kernels::cpu
