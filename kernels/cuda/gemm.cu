// GEMM through cuBLAS in FP32 (no TF32: cublasSetMathMode(CUBLAS_DEFAULT_MATH) in device.cu), the
// row-major operands handed over in place by the transpose trick of gemm_args.h. Batched products
// use the strided-batched call, with stride 0 for an operand every batch shares.
#include "kernels/cuda/cublas_loader.h"
#include "kernels/cuda/gemm_args.h"
#include "kernels/cuda/runtime.cuh"

namespace minidl::kernels::cuda {

void gemm(int64_t batch, int64_t m, int64_t n, int64_t k, GemmOperand a, GemmOperand b, float* c, int64_t ldc,
          int64_t c_batch_stride, float beta) {
  const ColumnMajorGemm g = to_column_major(m, n, k, a, b, ldc, c_batch_stride);
  const float alpha = 1.f;
  const cublasOperation_t op_a = g.transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = g.transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const auto i = [](int64_t v) { return static_cast<int>(v); };  // core checked every size against INT_MAX
  if (batch == 1) {
    MINIDL_CUBLAS_CHECK(cublas().sgemm(blas(), op_a, op_b, i(g.m), i(g.n), i(g.k), &alpha, g.a, i(g.lda), g.b, i(g.ldb),
                                       &beta, c, i(g.ldc)));
  } else {
    MINIDL_CUBLAS_CHECK(cublas().sgemm_strided_batched(blas(), op_a, op_b, i(g.m), i(g.n), i(g.k), &alpha, g.a,
                                                       i(g.lda), g.stride_a, g.b, i(g.ldb), g.stride_b, &beta, c,
                                                       i(g.ldc), g.stride_c, i(batch)));
  }
}

}  // namespace minidl::kernels::cuda
