// GEMM on OpenBLAS. Row-major throughout; a transposed operand is passed to cblas_sgemm with
// CblasTrans and its own leading dimension, so views such as W.transpose(0, 1) are never copied.
// core/dispatch.cpp guarantees every size fits BLAS's 32-bit integers.
#include <cblas.h>

#include "kernels/cpu/cpu.h"

namespace minidl::kernels::cpu {

void gemm(int64_t batch, int64_t m, int64_t n, int64_t k, GemmOperand a, GemmOperand b, float* c, int64_t ldc,
          int64_t c_batch_stride, float beta) {
  for (int64_t i = 0; i < batch; ++i) {
    cblas_sgemm(CblasRowMajor, a.transposed ? CblasTrans : CblasNoTrans, b.transposed ? CblasTrans : CblasNoTrans,
                static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.0f, a.data + i * a.batch_stride,
                static_cast<int>(a.ld), b.data + i * b.batch_stride, static_cast<int>(b.ld), beta,
                c + i * c_batch_stride, static_cast<int>(ldc));
  }
}

}  // namespace minidl::kernels::cpu
