// Products of small row-major matrices that sit in L1 (a head's scores, P·V, their gradients in
// kernels/cpu/attention.cpp), too small for BLAS's packing to pay off:
//   c[r, j] = (accumulate ? c[r, j] : 0) + Σ_k a[r, k]·b[k, j]      r < rows, j < cols, k < depth
// with a[r, k] at a[r·lda + k·a_step]: a_step = 1 is row-major a, lda = 1 with a_step = its row
// length reads a stored transposed (a's elements are only ever broadcast, so any stride is free).
// A block of 8 (AVX-512) or 4 (AVX2) rows × 16 columns of c is held in registers while k runs, so
// each step is one load of b's row and a broadcast multiply-add per row. Every element sums
// its k in ascending order, in the blocks and at the edges alike.
#pragma once

#include <cstdint>

namespace minidl::kernels::cpu {

namespace small_gemm_detail {

// Rows of c held in registers at once. A multiply-add's result is ready ~4 cycles after it starts
// and two start per cycle, so at least 8 independent accumulators keep the units busy: 8 rows with
// AVX-512's 32 vector registers; 4 with AVX2's 16 (8 rows of two vectors each would spill).
#if defined(__AVX512F__)
constexpr int64_t kRows = 8;
#else
constexpr int64_t kRows = 4;
#endif
constexpr int64_t kCols = 16;

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

// An R × 16 block of c: R accumulators while k runs, each step one load of b's row and R broadcast
// multiply-adds.
template <int64_t R>
inline void block(float* __restrict c, int64_t ldc, const float* __restrict a, int64_t lda, int64_t a_step,
                  const float* __restrict b, int64_t ldb, int64_t depth, bool accumulate) {
  Vec16 acc[R];
  for (int64_t r = 0; r < R; ++r) acc[r] = accumulate ? load(c + r * ldc) : Vec16{};
  for (int64_t k = 0; k < depth; ++k) {
    const Vec16 bk = load(b + k * ldb);
    for (int64_t r = 0; r < R; ++r) acc[r] += a[r * lda + k * a_step] * bk;
  }
  for (int64_t r = 0; r < R; ++r) store(c + r * ldc, acc[r]);
}

// Rows [r0, r1) × columns [j0, j1), element by element (the edges).
inline void edge(float* c, int64_t ldc, const float* a, int64_t lda, int64_t a_step, const float* b, int64_t ldb,
                 int64_t r0, int64_t r1, int64_t j0, int64_t j1, int64_t depth, bool accumulate) {
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t j = j0; j < j1; ++j) {
      float s = accumulate ? c[r * ldc + j] : 0.f;
      for (int64_t k = 0; k < depth; ++k) s += a[r * lda + k * a_step] * b[k * ldb + j];
      c[r * ldc + j] = s;
    }
}

// Rows [r0, r0 + R·⌊(rows − r0)/R⌋) in R-row blocks, over the full 16-column blocks; returns the
// first row left.
template <int64_t R>
inline int64_t block_rows(float* c, int64_t ldc, const float* a, int64_t lda, int64_t a_step, const float* b,
                          int64_t ldb, int64_t r0, int64_t rows, int64_t full_cols, int64_t depth, bool accumulate) {
  int64_t r = r0;
  for (; r + R <= rows; r += R)
    for (int64_t j = 0; j < full_cols; j += kCols)
      block<R>(c + r * ldc + j, ldc, a + r * lda, lda, a_step, b + j, ldb, depth, accumulate);
  return r;
}

}  // namespace small_gemm_detail

inline void small_gemm(float* c, int64_t ldc, const float* a, int64_t lda, const float* b, int64_t ldb, int64_t rows,
                       int64_t cols, int64_t depth, bool accumulate, int64_t a_step = 1) {
  using namespace small_gemm_detail;
  const int64_t full_cols = cols - cols % kCols;
  int64_t r = block_rows<kRows>(c, ldc, a, lda, a_step, b, ldb, 0, rows, full_cols, depth, accumulate);
  if (kRows > 4) r = block_rows<4>(c, ldc, a, lda, a_step, b, ldb, r, rows, full_cols, depth, accumulate);
  edge(c, ldc, a, lda, a_step, b, ldb, 0, r, full_cols, cols, depth, accumulate);
  edge(c, ldc, a, lda, a_step, b, ldb, r, rows, 0, cols, depth, accumulate);
}

}  // namespace minidl::kernels::cpu
