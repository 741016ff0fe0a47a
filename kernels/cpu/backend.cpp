// The CPU backend's entry in the kernel table, and its one thread-count knob.
#include <cblas.h>
#include <omp.h>

#include <string_view>

#include "kernels/cpu/cpu.h"

namespace minidl::kernels::cpu {

const Backend& backend() {
  static const Backend table = MINIDL_BACKEND_TABLE("cpu");
  return table;
}

// OpenBLAS (pthreads build) and OpenMP keep separate thread pools; setting both to the same count
// keeps them from competing for the cores.
void set_num_threads(int n) {
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

const char* blas_core() { return openblas_get_corename(); }

const char* better_blas_core() {
#if defined(__x86_64__)
  if (std::string_view(openblas_get_corename()) != "Prescott") return nullptr;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
  return nullptr;
}

}  // namespace minidl::kernels::cpu
