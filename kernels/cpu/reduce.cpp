// Reductions over the middle dimension of a contiguous [outer, reduce, inner] array.
// Sums are deterministic: the order of additions depends only on the sizes, never on the thread
// count. A contiguous run is summed in blocks of kBlock into 16 double lanes: independent
// accumulators vectorize without -ffast-math, and double keeps long sums far more accurate than the
// float result they are rounded to.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/parallel.h"

namespace minidl::kernels::cpu {

constexpr int64_t kBlock = 4096;
constexpr int kLanes = 16;
constexpr int64_t kInnerChunk = 1024;  // columns per task when reducing a strided dimension

static double sum_block(const float* x, int64_t n) {
  double lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) lanes[l] += x[i + l];
  double tail = 0.0;
  for (; i < n; ++i) tail += x[i];
  for (int width = kLanes / 2; width >= 1; width /= 2)
    for (int l = 0; l < width; ++l) lanes[l] += lanes[l + width];
  return lanes[0] + tail;
}

static double sum_contiguous(const float* x, int64_t n) {
  double total = 0.0;
  for (int64_t start = 0; start < n; start += kBlock) total += sum_block(x + start, std::min(kBlock, n - start));
  return total;
}

void sum(float* out, const float* in, int64_t outer, int64_t reduce, int64_t inner) {
  if (reduce == 0) {
    std::fill(out, out + outer * inner, 0.f);
    return;
  }
  if (inner == 1 && outer == 1) {  // one long run: blocks in parallel, totals added in a fixed order
    const int64_t blocks = (reduce + kBlock - 1) / kBlock;
    std::vector<double> partial(static_cast<size_t>(blocks));
    parallel_for(blocks, kBlock, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b)
        partial[b] = sum_block(in + b * kBlock, std::min(kBlock, reduce - b * kBlock));
    });
    double total = 0.0;
    for (double p : partial) total += p;
    out[0] = static_cast<float>(total);
    return;
  }
  if (inner == 1) {
    parallel_for(outer, reduce, [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) out[o] = static_cast<float>(sum_contiguous(in + o * reduce, reduce));
    });
    return;
  }
  // Strided reduction: accumulate whole rows of `inner` columns, vectorized across the columns.
  const int64_t chunks = (inner + kInnerChunk - 1) / kInnerChunk;
  parallel_for(outer * chunks, reduce * std::min(inner, kInnerChunk), [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t o = task / chunks, j0 = (task % chunks) * kInnerChunk, width = std::min(kInnerChunk, inner - j0);
      float* dst = out + o * inner + j0;
      const float* src = in + o * reduce * inner + j0;
      std::memcpy(dst, src, sizeof(float) * width);
      for (int64_t r = 1; r < reduce; ++r)
        for (int64_t j = 0; j < width; ++j) dst[j] += src[r * inner + j];
    }
  });
}

// v replaces the running maximum if larger, or if it is the first NaN.
static inline bool beats(float v, float best) { return v > best || (std::isnan(v) && !std::isnan(best)); }

void max(float* out, int32_t* indices, const float* in, int64_t outer, int64_t reduce, int64_t inner) {
  parallel_for(outer, reduce * inner, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      const float* src = in + o * reduce * inner;
      float* best = out + o * inner;
      int32_t* idx = indices + o * inner;
      for (int64_t j = 0; j < inner; ++j) {
        best[j] = src[j];
        idx[j] = 0;
      }
      for (int64_t r = 1; r < reduce; ++r)
        for (int64_t j = 0; j < inner; ++j)
          if (beats(src[r * inner + j], best[j])) {
            best[j] = src[r * inner + j];
            idx[j] = static_cast<int32_t>(r);
          }
    }
  });
}

void max_backward(float* dx, const float* dy, const int32_t* indices, int64_t outer, int64_t reduce, int64_t inner) {
  std::fill(dx, dx + outer * reduce * inner, 0.f);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) dx[(o * reduce + indices[o * inner + j]) * inner + j] = dy[o * inner + j];
}

// Eight double lanes, combined in a fixed order: vectorizes, and the result does not depend on the
// thread count (this runs on the calling thread; a step's gradients are 0.8 MB).
double dot(const float* a, const float* b, int64_t n) {
  double lanes[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) lanes[k] += static_cast<double>(a[i + k]) * b[i + k];
  for (; i < n; ++i) lanes[0] += static_cast<double>(a[i]) * b[i];
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

double sum_squares(const float* x, int64_t n) { return dot(x, x, n); }

}  // namespace minidl::kernels::cpu
