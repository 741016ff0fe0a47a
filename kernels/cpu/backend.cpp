// The CPU backend's entry in the kernel table, and its one thread-count knob.
#include <cblas.h>
#include <omp.h>

#include "kernels/cpu/cpu.h"

namespace minidl::kernels::cpu {

const Backend& backend() {
  static const Backend table{
      .name = "cpu",
      .allocate = allocate,
      .deallocate = deallocate,
      .copy_from_host = copy_from_host,
      .copy_to_host = copy_to_host,
      .fill = fill,
      .copy = copy,
      .gather_rows = gather_rows,
      .cast_int32_to_float32 = cast_int32_to_float32,
      .cast_float32_to_int32 = cast_float32_to_int32,
      .unary = unary,
      .binary = binary,
      .sum = sum,
      .max = max,
      .max_backward = max_backward,
      .sum_squares = sum_squares,
      .dot = dot,
      .softmax = softmax,
      .softmax_backward = softmax_backward,
      .cross_entropy_forward = cross_entropy_forward,
      .cross_entropy_backward = cross_entropy_backward,
      .bias_activation = bias_activation,
      .bias_activation_backward = bias_activation_backward,
      .sgd_step = sgd_step,
      .gemm = gemm,
  };
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
