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
//   auto      oneDNN when libdnnl.so.2 (or .so.3) loads, runs on OpenMP (the pool minidl's own loops
//             use, so set_num_threads sizes it too) and the CPU has AVX-512F; else OpenBLAS (default)
//   openblas  always OpenBLAS
//   onednn    oneDNN whatever the CPU (an error if the library cannot be loaded)
// A build configured with -DMINIDL_ONEDNN=OFF, or with AddressSanitizer (LeakSanitizer crashes at
// exit scanning the thread-local storage of a dlopen'ed library that ran OpenMP threads:
// google/sanitizers#1322), never loads oneDNN: there `onednn` is an error and `auto` is OpenBLAS.
#include <cblas.h>

#if MINIDL_WITH_ONEDNN
#include <dlfcn.h>
#endif

#include <atomic>
#include <cstdlib>
#include <string>
#include <string_view>

#include "kernels/cpu/cpu.h"
#include "kernels/error.h"

namespace minidl::kernels::cpu {

namespace {

using DnnlSgemm = int (*)(char transa, char transb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
// dnnl.h's dnnl_version_t; cpu_runtime is DNNL_RUNTIME_OMP (2) for an OpenMP build.
struct DnnlVersion {
  int major, minor, patch;
  const char* hash;
  unsigned cpu_runtime, gpu_runtime;
};
constexpr unsigned kDnnlRuntimeOmp = 2;
// dnnl_status_t values after which nothing was written: C is intact, so OpenBLAS can run the call.
constexpr int kDnnlInvalidArguments = 2, kDnnlUnimplemented = 3;

struct GemmLibrary {
  DnnlSgemm dnnl = nullptr;  // null: OpenBLAS
  const char* name = "openblas";
};

std::atomic<int64_t> g_declined{0};

#if MINIDL_WITH_ONEDNN
// The library's sgemm, or null with the reason in `why`. `any_runtime`: accept a oneDNN built on a
// thread pool other than OpenMP (TBB, …), which would not follow set_num_threads.
DnnlSgemm load_onednn(std::string& why, bool any_runtime) {
  void* library = nullptr;
  for (const char* soname : {"libdnnl.so.2", "libdnnl.so.3"}) {
    if ((library = dlopen(soname, RTLD_NOW | RTLD_LOCAL))) break;
    why += (why.empty() ? "" : "; ") + std::string(dlerror());
  }
  if (!library) return nullptr;
  auto sgemm = reinterpret_cast<DnnlSgemm>(dlsym(library, "dnnl_sgemm"));
  auto version = reinterpret_cast<const DnnlVersion* (*)()>(dlsym(library, "dnnl_version"));
  if (!sgemm || !version) {
    why = "the library has no dnnl_sgemm or dnnl_version";
    return nullptr;
  }
  if (!any_runtime && version()->cpu_runtime != kDnnlRuntimeOmp) {
    why = "it is not built on OpenMP";
    return nullptr;
  }
  return sgemm;  // the library stays loaded for the life of the process
}
#endif

GemmLibrary choose() {
  const char* set = std::getenv("MINIDL_GEMM");
  const std::string_view want = set && *set ? set : "auto";
  check(want == "auto" || want == "openblas" || want == "onednn", "MINIDL_GEMM='", want,
        "': expected auto, openblas or onednn");
  if (want == "openblas") return {};
#if MINIDL_WITH_ONEDNN
  bool wide = false;
#if defined(__x86_64__)
  wide = __builtin_cpu_supports("avx512f");
#endif
  if (want == "auto" && !wide) return {};
  std::string why;
  DnnlSgemm sgemm = load_onednn(why, want == "onednn");
  check(sgemm || want == "auto", "MINIDL_GEMM=onednn: cannot use oneDNN (", why,
        "); install libdnnl2 or set MINIDL_GEMM=openblas");
  if (!sgemm) return {};
  return {sgemm, "onednn"};
#else
  check(want == "auto", "MINIDL_GEMM=onednn: this build has no oneDNN path (configured with -DMINIDL_ONEDNN=OFF, "
                        "or with AddressSanitizer); use auto or openblas");
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
    // Empty products (k = 0 scales C by beta) go to OpenBLAS, whose BLAS semantics (beta = 0 never
    // reads C) every caller relies on; so does a call oneDNN declines before writing C.
    if (dnnl && m > 0 && n > 0 && k > 0) {
      const int status =
          dnnl(a.transposed ? 'T' : 'N', b.transposed ? 'T' : 'N', m, n, k, 1.0f, ap, a.ld, bp, b.ld, beta, cp, ldc);
      if (status == 0) continue;
      // Any other failure (out of memory, say) may have come after C was partly written: running the
      // call again is right only when C's old values do not count.
      check(status == kDnnlInvalidArguments || status == kDnnlUnimplemented || beta == 0.f,
            "gemm: oneDNN's sgemm failed (dnnl_status_t ", status, ") on ", m, "x", n, "x", k,
            " with beta ", beta, " after it may have written C; MINIDL_GEMM=openblas avoids oneDNN");
      g_declined.fetch_add(1, std::memory_order_relaxed);
    }
    openblas_gemm(m, n, k, a, ap, b, bp, cp, ldc, beta);
  }
}

int64_t gemm_declined() { return g_declined.load(std::memory_order_relaxed); }

}  // namespace minidl::kernels::cpu
