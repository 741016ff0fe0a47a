// Row-major GEMM on column-major cuBLAS, with no copies: a row-major M×N matrix C read as
// column-major is C^T (N×M). So C = A·B is computed as C^T = B^T · A^T, where the row-major B *is*
// B^T to cuBLAS (and likewise A): swap the operands, swap m and n, keep every leading dimension. An
// operand stored transposed (a transposed view) becomes cuBLAS's op = T. Plain C++ (tested on the
// CPU against a column-major reference loop) so the trick is checked where no GPU is.
#pragma once

#include <cstdint>

#include "kernels/layout.h"

namespace minidl::kernels::cuda {

/// cublasSgemm's arguments: C' (m×n, column-major, ldc) = op(A') · op(B'), op(A') m×k, op(B') k×n.
struct ColumnMajorGemm {
  bool transpose_a, transpose_b;
  int64_t m, n, k;
  const float* a;
  int64_t lda, stride_a;
  const float* b;
  int64_t ldb, stride_b;
  int64_t ldc, stride_c;
};

/// The column-major call that computes row-major C[M×N] = A[M×K] · B[K×N] (kernels/backend.h's gemm).
inline ColumnMajorGemm to_column_major(int64_t m, int64_t n, int64_t k, const GemmOperand& a, const GemmOperand& b,
                                       int64_t ldc, int64_t c_batch_stride) {
  return {.transpose_a = b.transposed,
          .transpose_b = a.transposed,
          .m = n,
          .n = m,
          .k = k,
          .a = b.data,
          .lda = b.ld,
          .stride_a = b.batch_stride,
          .b = a.data,
          .ldb = a.ld,
          .stride_b = a.batch_stride,
          .ldc = ldc,
          .stride_c = c_batch_stride};
}

}  // namespace minidl::kernels::cuda
