// The CPU backend's entry in the kernel table, and its one thread-count knob.
#include <cblas.h>
#include <omp.h>

#include "kernels/cpu/cpu.h"

namespace minidl::kernels::cpu {

const Backend& backend() {
  static const Backend table = entry_table("cpu");
  return table;
}

// OpenBLAS (pthreads build) and OpenMP keep separate thread pools; setting both to the same count
// keeps them from competing for the cores.
void set_num_threads(int n) {
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

}  // namespace minidl::kernels::cpu
