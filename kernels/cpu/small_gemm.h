// Products of small row-major matrices that sit in L1 (a head's scores, P·V, their gradients in
// kernels/cpu/attention.cpp), too small for BLAS's packing to pay off:
//   c[r, j] = (accumulate ? c[r, j] : 0) + Σ_k a[r, k]·b[k, j]      r < rows, j < cols, k < depth
// A 4 × 16 block of c is held in registers (16 floats: one AVX-512 vector, two AVX2 ones) while k
// runs, so each step is one load of b's row and four broadcast multiply-adds. Every element sums
// its k in ascending order, in the blocks and at the edges alike.
#pragma once

#include <cstdint>

namespace minidl::kernels::cpu {

namespace small_gemm_detail {

constexpr int64_t kRows = 4, kCols = 16;

// 16 floats as one value: GCC's vector extension, lowered to one AVX-512 register, two AVX2 or
// four SSE ones, whatever the target. (Left to itself, the auto-vectorizer shuffles this block
// through xmm registers.) Loads and stores go through memcpy: rows need no alignment.
typedef float Vec16 __attribute__((vector_size(kCols * sizeof(float))));

inline Vec16 load(const float* p) {
  Vec16 v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, Vec16 v) { __builtin_memcpy(p, &v, sizeof v); }

inline void block(float* __restrict c, int64_t ldc, const float* __restrict a, int64_t lda,
                  const float* __restrict b, int64_t ldb, int64_t depth, bool accumulate) {
  Vec16 acc[kRows];
  for (int64_t r = 0; r < kRows; ++r) acc[r] = accumulate ? load(c + r * ldc) : Vec16{};
  for (int64_t k = 0; k < depth; ++k) {
    const Vec16 bk = load(b + k * ldb);
    for (int64_t r = 0; r < kRows; ++r) acc[r] += a[r * lda + k] * bk;
  }
  for (int64_t r = 0; r < kRows; ++r) store(c + r * ldc, acc[r]);
}

// Rows [r0, r1) × columns [j0, j1), element by element (the edges).
inline void edge(float* c, int64_t ldc, const float* a, int64_t lda, const float* b, int64_t ldb, int64_t r0,
                 int64_t r1, int64_t j0, int64_t j1, int64_t depth, bool accumulate) {
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t j = j0; j < j1; ++j) {
      float s = accumulate ? c[r * ldc + j] : 0.f;
      for (int64_t k = 0; k < depth; ++k) s += a[r * lda + k] * b[k * ldb + j];
      c[r * ldc + j] = s;
    }
}

}  // namespace small_gemm_detail

inline void small_gemm(float* c, int64_t ldc, const float* a, int64_t lda, const float* b, int64_t ldb, int64_t rows,
                       int64_t cols, int64_t depth, bool accumulate) {
  using namespace small_gemm_detail;
  const int64_t full_rows = rows - rows % kRows, full_cols = cols - cols % kCols;
  for (int64_t r = 0; r < full_rows; r += kRows)
    for (int64_t j = 0; j < full_cols; j += kCols)
      block(c + r * ldc + j, ldc, a + r * lda, lda, b + j, ldb, depth, accumulate);
  edge(c, ldc, a, lda, b, ldb, 0, full_rows, full_cols, cols, depth, accumulate);
  edge(c, ldc, a, lda, b, ldb, full_rows, rows, 0, cols, depth, accumulate);
}

}  // namespace minidl::kernels::cpu
