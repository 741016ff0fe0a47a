// 2-D max and average pooling, a plane (one image's channel) per task. Forward runs the window math
// of kernels/conv_math.h; backward scatters each output's gradient over its window in row-major
// output order, which is the order the GPU's per-input gather adds them in.
#include <algorithm>
#include <utility>
#include <vector>

#if defined(__AVX__)
#include <immintrin.h>
#endif

#include "kernels/conv_math.h"
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/parallel.h"
#include "kernels/elementwise_math.h"

namespace minidl::kernels::cpu {

namespace {

// The outputs [*lo, *hi) of a dimension whose windows lie wholly inside the input (no padding).
void interior(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t pad, int64_t* lo, int64_t* hi) {
  *lo = std::min(out, (pad + stride - 1) / stride);  // o·s − p ≥ 0
  *hi =
      std::max(*lo, std::min(out, in + pad - kernel >= 0 ? (in + pad - kernel) / stride + 1 : 0));  // o·s − p + k ≤ in
}

// One plane's max pooling. Interior outputs of a row take the taps in the outer loop and the outputs
// in the inner one, so the compare-and-select vectorizes; the taps come in row-major order, as in
// math::max_pool_value, with the same rule, so every output and index equals what it gives (it
// computes the borders). Biased: the plane is a conv output before its bias and activation
// (conv_max_pool2d), added to each tap before the comparison, as the unfused layers would see them.
template <bool Biased>
void max_pool_plane(float* __restrict o, int32_t* __restrict idx, const float* __restrict plane, const Window2d& w,
                    float bias, Activation act) {
  int64_t h_lo, h_hi, w_lo, w_hi;
  interior(w.height, w.out_h, w.kernel_h, w.stride_h, w.pad_h, &h_lo, &h_hi);
  interior(w.width, w.out_w, w.kernel_w, w.stride_w, w.pad_w, &w_lo, &w_hi);
  const auto tap = [&](int64_t k) { return Biased ? plane[k] + bias : plane[k]; };
  for (int64_t oh = 0; oh < w.out_h; ++oh, o += w.out_w, idx += w.out_w) {
    const bool inside_h = oh >= h_lo && oh < h_hi;
    for (int64_t ow = 0; ow < w.out_w; ++ow) {
      if (inside_h && ow == w_lo) ow = w_hi;  // the interior is done below
      if (ow < w.out_w) o[ow] = math::max_pool_value<Biased>(plane, w, oh, ow, &idx[ow], bias);
    }
    if (inside_h && w_lo < w_hi) {
      const int64_t h0 = oh * w.stride_h - w.pad_h, s = w.stride_w, shift = -w.pad_w;
      for (int64_t ow = w_lo; ow < w_hi; ++ow) {
        o[ow] = tap(h0 * w.width + ow * s + shift);
        idx[ow] = static_cast<int32_t>(h0 * w.width + ow * s + shift);
      }
      for (int64_t i = 0; i < w.kernel_h; ++i)
        for (int64_t j = (i == 0 ? 1 : 0); j < w.kernel_w; ++j) {
          const int64_t base = (h0 + i) * w.width + j + shift;  // + ow·s ≥ 0 for interior outputs
          for (int64_t ow = w_lo; ow < w_hi; ++ow) {
            const float v = tap(base + ow * s);
            const bool take = (v > o[ow]) | (v != v);
            o[ow] = take ? v : o[ow];
            idx[ow] = take ? static_cast<int32_t>(base + ow * s) : idx[ow];
          }
        }
    }
    if (Biased && act == Activation::relu)
      for (int64_t ow = 0; ow < w.out_w; ++ow) o[ow] = math::Relu{}(o[ow]);
  }
}

// 2×2 windows at stride 2 without padding (the usual pooling), over `planes` planes that follow each
// other in memory (H and W even), each output written to `out(p) + k`. Branch-free and vectorized
// across whole rows: a per-window loop would branch on every comparison, and random data makes
// half of those branches mispredict. The taps are compared in two rounds, top against bottom of
// each column and then left against right, with the combining rule written out in full (the last
// NaN, else the larger value, else the smaller flat index): a rule that does not depend on the
// order in which taps meet, so the result is max_pool_value's, which meets them in row-major order.
template <bool Biased, class Out>
void max_pool_2x2(const float* __restrict x, int64_t planes, const Window2d& w, float bias, Activation act, Out&& out) {
  static thread_local std::vector<float> column_max;   // per row pair and column: the winner's value …
  static thread_local std::vector<int32_t> column_at;  // … and its flat index in its plane
  const int64_t H = w.height, W = w.width, pairs = planes * H / 2;
  if (column_max.size() < static_cast<size_t>(pairs * W)) {
    column_max.resize(static_cast<size_t>(pairs * W));
    column_at.resize(static_cast<size_t>(pairs * W));
  }
  float* __restrict v = column_max.data();
  int32_t* __restrict at = column_at.data();
  for (int64_t rp = 0; rp < pairs; ++rp) {
    const float* __restrict r0 = x + 2 * rp * W;
    const float* __restrict r1 = r0 + W;
    const int32_t top = static_cast<int32_t>((2 * rp % H) * W), width = static_cast<int32_t>(W);
    for (int64_t c = 0; c < W; ++c) {
      const float a = Biased ? r0[c] + bias : r0[c], b = Biased ? r1[c] + bias : r1[c];
      const bool lower = (b > a) | (b != b);  // the bottom tap comes later: it wins a tie only as a NaN
      v[rp * W + c] = lower ? b : a;
      at[rp * W + c] = top + static_cast<int32_t>(c) + (lower ? width : 0);
    }
  }
  const int64_t per_plane = w.out_size();
  for (int64_t p = 0; p < planes; ++p) {
    const float* __restrict pv = v + p * per_plane * 2;
    const int32_t* __restrict pa = at + p * per_plane * 2;
    auto [o, idx] = out(p);
    for (int64_t j = 0; j < per_plane; ++j) {
      const float a = pv[2 * j], b = pv[2 * j + 1];
      const int32_t ia = pa[2 * j], ib = pa[2 * j + 1];
      const bool an = a != a, bn = b != b;
      const bool right = (bn & !an) | (an & bn & (ib > ia)) | (!an & !bn & ((b > a) | ((b == a) & (ib < ia))));
      const float best = right ? b : a;
      o[j] = Biased && act == Activation::relu ? math::Relu{}(best) : best;
      idx[j] = right ? ib : ia;
    }
  }
}

bool is_2x2(const Window2d& w) {
  return w.kernel_h == 2 && w.kernel_w == 2 && w.stride_h == 2 && w.stride_w == 2 && w.pad_h == 0 && w.pad_w == 0 &&
         w.height % 2 == 0 && w.width % 2 == 0;
}

#if defined(__AVX512F__)
// The 2×2 / stride-2 pooling of MNIST's CNN, one plane at a time in AVX-512. Its rows are 28 and 14
// floats wide: loops a compiler vectorizes spend most of their time in scalar loop tails at those
// widths (and the portable max_pool_2x2 above needs a second pass for that reason), so an output row
// is done here as masked 16-lane vectors: 16 outputs from 32 floats of each of its two input rows,
// split into even and odd columns by one permute each. Same rule and same results as
// max_pool_value: the taps meet in row-major order, and a later one wins when NaN or strictly larger.
__mmask16 first_lanes(int64_t n) { return n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1u); }

// Outputs [q0, q0 + 16) of a row: the rows' columns [2·q0, 2·q0 + 32), masked to the row's width.
struct RowBlock {
  __mmask16 out, lo, hi;  // the outputs, and the two 16-float halves of each input row
  RowBlock(int64_t q0, int64_t out_w) {
    const int64_t n = std::min<int64_t>(16, out_w - q0);
    out = first_lanes(n);
    lo = first_lanes(2 * n);
    hi = first_lanes(std::max<int64_t>(0, 2 * n - 16));
  }
};

const __m512i kEven = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
const __m512i kOdd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);

// The later tap v takes the window from (best, at) when it is NaN or strictly larger.
inline void take_later(__m512& best, __m512i& at, __m512 v, int32_t offset) {
  const __mmask16 m = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  best = _mm512_mask_mov_ps(best, m, v);
  at = _mm512_mask_mov_epi32(at, m, _mm512_set1_epi32(offset));
}

void max_pool_2x2_plane(float* __restrict o, int32_t* __restrict idx, const float* __restrict plane, const Window2d& w,
                        float bias, bool relu) {
  const int64_t W = w.width, OW = w.out_w;
  const __m512 b = _mm512_set1_ps(bias), zero = _mm512_setzero_ps();
  for (int64_t oh = 0; oh < w.out_h; ++oh, o += OW, idx += OW) {
    const float* r0 = plane + 2 * oh * W;
    const float* r1 = r0 + W;
    for (int64_t q0 = 0; q0 < OW; q0 += 16) {
      const RowBlock m(q0, OW);
      const __m512 t0 = _mm512_maskz_loadu_ps(m.lo, r0 + 2 * q0), t1 = _mm512_maskz_loadu_ps(m.hi, r0 + 2 * q0 + 16);
      const __m512 u0 = _mm512_maskz_loadu_ps(m.lo, r1 + 2 * q0), u1 = _mm512_maskz_loadu_ps(m.hi, r1 + 2 * q0 + 16);
      __m512 best = _mm512_add_ps(_mm512_permutex2var_ps(t0, kEven, t1), b);
      __m512i at = _mm512_setzero_si512();
      take_later(best, at, _mm512_add_ps(_mm512_permutex2var_ps(t0, kOdd, t1), b), 1);
      take_later(best, at, _mm512_add_ps(_mm512_permutex2var_ps(u0, kEven, u1), b), static_cast<int32_t>(W));
      take_later(best, at, _mm512_add_ps(_mm512_permutex2var_ps(u0, kOdd, u1), b), static_cast<int32_t>(W + 1));
      if (relu) best = _mm512_mask_mov_ps(best, _mm512_cmp_ps_mask(best, zero, _CMP_LT_OQ), zero);  // x < 0 ? 0 : x
      const __m512i corner = _mm512_set1_epi32(static_cast<int32_t>(2 * oh * W + 2 * q0));
      _mm512_mask_storeu_ps(o + q0, m.out, best);
      _mm512_mask_storeu_epi32(idx + q0, m.out, _mm512_add_epi32(_mm512_add_epi32(corner, kEven), at));
    }
  }
}

// Its gradient: each window's four taps are written, the winner's with the output's gradient (0
// where a fused ReLU zeroed the pooled value), the others with 0. The windows tile the plane, so
// every element is written once and nothing needs zeroing first.
void max_pool_2x2_backward_plane(float* __restrict plane, const float* __restrict g, const int32_t* __restrict idx,
                                 const float* __restrict pooled, const Window2d& w) {
  const int64_t W = w.width, OW = w.out_w;
  const __m512 zero = _mm512_setzero_ps();
  const __m512i lo_half = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i hi_half = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  for (int64_t oh = 0; oh < w.out_h; ++oh, g += OW, idx += OW, pooled = pooled ? pooled + OW : nullptr) {
    float* r0 = plane + 2 * oh * W;
    float* r1 = r0 + W;
    for (int64_t q0 = 0; q0 < OW; q0 += 16) {
      const RowBlock m(q0, OW);
      __m512 grad = _mm512_maskz_loadu_ps(m.out, g + q0);
      if (pooled)
        grad =
            _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(m.out, pooled + q0), zero, _CMP_GT_OQ), grad);
      const __m512i corner = _mm512_set1_epi32(static_cast<int32_t>(2 * oh * W + 2 * q0));
      const __m512i at = _mm512_sub_epi32(_mm512_maskz_loadu_epi32(m.out, idx + q0), _mm512_add_epi32(corner, kEven));
      const auto tap = [&](int32_t offset) {
        return _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(at, _mm512_set1_epi32(offset)), grad);
      };
      const __m512 a = tap(0), b = tap(1), c = tap(static_cast<int32_t>(W)), d = tap(static_cast<int32_t>(W + 1));
      _mm512_mask_storeu_ps(r0 + 2 * q0, m.lo, _mm512_permutex2var_ps(a, lo_half, b));
      _mm512_mask_storeu_ps(r0 + 2 * q0 + 16, m.hi, _mm512_permutex2var_ps(a, hi_half, b));
      _mm512_mask_storeu_ps(r1 + 2 * q0, m.lo, _mm512_permutex2var_ps(c, lo_half, d));
      _mm512_mask_storeu_ps(r1 + 2 * q0 + 16, m.hi, _mm512_permutex2var_ps(c, hi_half, d));
    }
  }
}
#endif  // __AVX512F__

// One plane's max-pool gradient: zero the plane, then add each output's gradient at its winner in
// row-major output order (the order math::max_pool_backward_value adds them in; 0 + g equals g, so a
// store gives the same value where windows do not overlap). With `pooled`
// (after a fused ReLU), a window whose output is not > 0 passes nothing.
void max_pool_backward_plane(float* __restrict plane, const float* __restrict g, const int32_t* __restrict idx,
                             const float* __restrict pooled, const Window2d& w) {
  for (int64_t k = 0; k < w.in_size(); ++k) plane[k] = 0.f;
  // Windows that tile the plane (stride = kernel, no padding) never share a winner: a store will do.
  const bool tiles = w.stride_h == w.kernel_h && w.stride_w == w.kernel_w && w.pad_h == 0 && w.pad_w == 0;
  if (tiles && pooled)
    for (int64_t k = 0; k < w.out_size(); ++k) plane[idx[k]] = pooled[k] > 0.f ? g[k] : 0.f;
  else if (tiles)
    for (int64_t k = 0; k < w.out_size(); ++k) plane[idx[k]] = g[k];
  else if (pooled)
    for (int64_t k = 0; k < w.out_size(); ++k) plane[idx[k]] += pooled[k] > 0.f ? g[k] : 0.f;
  else
    for (int64_t k = 0; k < w.out_size(); ++k) plane[idx[k]] += g[k];
}

}  // namespace

void max_pool2d(float* out, int32_t* indices, const float* x, int64_t planes, const Window2d& w) {
  parallel_for(planes, w.out_size() * w.taps(), [&](int64_t begin, int64_t end) {
#if defined(__AVX512F__)
    if (is_2x2(w)) {
      for (int64_t p = begin; p < end; ++p)
        max_pool_2x2_plane(out + p * w.out_size(), indices + p * w.out_size(), x + p * w.in_size(), w, 0.f, false);
      return;
    }
#endif
    if (is_2x2(w)) {
      constexpr int64_t kBlock = 16;  // planes per call: the scratch stays small
      for (int64_t p0 = begin; p0 < end; p0 += kBlock)
        max_pool_2x2<false>(x + p0 * w.in_size(), std::min(kBlock, end - p0), w, 0.f, Activation::none, [&](int64_t p) {
          return std::pair{out + (p0 + p) * w.out_size(), indices + (p0 + p) * w.out_size()};
        });
      return;
    }
    for (int64_t p = begin; p < end; ++p)
      max_pool_plane<false>(out + p * w.out_size(), indices + p * w.out_size(), x + p * w.in_size(), w, 0.f,
                            Activation::none);
  });
}

void max_pool2d_backward(float* dx, const float* dy, const int32_t* indices, int64_t planes, const Window2d& w) {
  parallel_for(planes, w.in_size() + w.out_size(), [&](int64_t begin, int64_t end) {
#if defined(__AVX512F__)
    if (is_2x2(w)) {
      for (int64_t p = begin; p < end; ++p)
        max_pool_2x2_backward_plane(dx + p * w.in_size(), dy + p * w.out_size(), indices + p * w.out_size(), nullptr,
                                    w);
      return;
    }
#endif
    for (int64_t p = begin; p < end; ++p)
      max_pool_backward_plane(dx + p * w.in_size(), dy + p * w.out_size(), indices + p * w.out_size(), nullptr, w);
  });
}

// A conv output plane (b, o) lies at yt + o·batch·L + b·L in the GEMM's layout; pooled planes are
// [batch, channels] in the usual one.
void conv_max_pool2d(float* pooled, int32_t* indices, const float* yt, const float* bias, int64_t batch,
                     int64_t channels, const Window2d& w, Activation act) {
  const int64_t L = w.in_size();
#if defined(__AVX512F__)
  if (is_2x2(w)) {
    parallel_for(channels, batch * L, [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o)
        for (int64_t b = 0; b < batch; ++b) {
          const int64_t p = (b * channels + o) * w.out_size();
          max_pool_2x2_plane(pooled + p, indices + p, yt + o * batch * L + b * L, w, bias ? bias[o] : 0.f,
                             act == Activation::relu);
        }
    });
    return;
  }
#endif
  if (is_2x2(w)) {  // a channel's planes of the chunk follow each other in yt: one block per channel
    parallel_for(channels, batch * L, [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o)
        max_pool_2x2<true>(yt + o * batch * L, batch, w, bias ? bias[o] : 0.f, act, [&](int64_t b) {
          const int64_t p = (b * channels + o) * w.out_size();
          return std::pair{pooled + p, indices + p};
        });
    });
    return;
  }
  parallel_for(batch * channels, w.out_size() * w.taps(), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t b = p / channels, o = p % channels;
      max_pool_plane<true>(pooled + p * w.out_size(), indices + p * w.out_size(), yt + o * batch * L + b * L, w,
                           bias ? bias[o] : 0.f, act);
    }
  });
}

namespace {

// math::lane_sum of `count` consecutive planes of n floats each: for each plane the same additions in
// the same order, so the same sum, but four planes side by side. One plane's sum is a single chain
// of dependent vector adds; four independent chains hide each other's latency.
#if defined(__AVX__)
template <int G>
void lane_sums_of(float* sums, const float* r, int64_t n) {
  __m256 acc[G];
  for (int j = 0; j < G; ++j) acc[j] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= n; k += 8)
    for (int j = 0; j < G; ++j) acc[j] = _mm256_add_ps(acc[j], _mm256_loadu_ps(r + j * n + k));
  for (int j = 0; j < G; ++j) {
    float lanes[8];
    _mm256_storeu_ps(lanes, acc[j]);
    for (int64_t t = k; t < n; ++t) lanes[0] += r[j * n + t];
    for (int width = 4; width >= 1; width /= 2)
      for (int q = 0; q < width; ++q) lanes[q] += lanes[q + width];
    sums[j] = lanes[0];
  }
}
#endif

void lane_sums(float* sums, const float* x, int64_t count, int64_t n) {
  int64_t p = 0;
#if defined(__AVX__)
  for (; p + 4 <= count; p += 4) lane_sums_of<4>(sums + p, x + p * n, n);
  if (count - p == 3) lane_sums_of<3>(sums + p, x + p * n, n), p += 3;
  if (count - p == 2) lane_sums_of<2>(sums + p, x + p * n, n), p += 2;
#endif
  for (; p < count; ++p) sums[p] = math::lane_sum(x + p * n, n);
}

}  // namespace

// Threads split the channels (each channel's planes written, and its bias gradient summed, in order).
void conv_max_pool2d_backward(float* dzt, float* dbias, const float* pooled, const int32_t* indices, const float* dy,
                              int64_t batch, int64_t channels, const Window2d& w, Activation act) {
  const int64_t L = w.in_size();
  parallel_for(channels, batch * (L + w.out_size()), [&](int64_t begin, int64_t end) {
    constexpr int64_t kGroup = 16;  // planes whose bias-gradient terms are summed together
    float sums[kGroup];
    for (int64_t o = begin; o < end; ++o) {
      double total = 0.0;
      for (int64_t b0 = 0; b0 < batch; b0 += kGroup) {
        const int64_t count = std::min(kGroup, batch - b0);
        for (int64_t b = b0; b < b0 + count; ++b) {
          const int64_t p = (b * channels + o) * w.out_size();
          float* plane = dzt + o * batch * L + b * L;
          const float* gate = act == Activation::relu ? pooled + p : nullptr;
#if defined(__AVX512F__)
          if (is_2x2(w))
            max_pool_2x2_backward_plane(plane, dy + p, indices + p, gate, w);
          else
#endif
            max_pool_backward_plane(plane, dy + p, indices + p, gate, w);
        }
        if (!dbias) continue;
        lane_sums(sums, dzt + o * batch * L + b0 * L, count, L);
        for (int64_t j = 0; j < count; ++j) total += sums[j];  // in image order, as one plane at a time
      }
      if (dbias) dbias[o] += static_cast<float>(total);
    }
  });
}

void avg_pool2d(float* out, const float* x, int64_t planes, const Window2d& w) {
  parallel_for(planes, w.out_size() * w.taps(), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const float* plane = x + p * w.in_size();
      float* o = out + p * w.out_size();
      for (int64_t oh = 0; oh < w.out_h; ++oh)
        for (int64_t ow = 0; ow < w.out_w; ++ow) o[oh * w.out_w + ow] = math::avg_pool_value(plane, w, oh, ow);
    }
  });
}

void avg_pool2d_backward(float* dx, const float* dy, int64_t planes, const Window2d& w) {
  const float divisor = static_cast<float>(w.taps());
  parallel_for(planes, w.in_size() + w.out_size() * w.taps(), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      float* plane = dx + p * w.in_size();
      const float* g = dy + p * w.out_size();
      std::fill(plane, plane + w.in_size(), 0.f);
      for (int64_t oh = 0; oh < w.out_h; ++oh)
        for (int64_t ow = 0; ow < w.out_w; ++ow) {
          const float share = g[oh * w.out_w + ow] / divisor;
          const int64_t h0 = oh * w.stride_h - w.pad_h, w0 = ow * w.stride_w - w.pad_w;
          for (int64_t h = std::max<int64_t>(h0, 0); h < std::min(h0 + w.kernel_h, w.height); ++h)
            for (int64_t x = std::max<int64_t>(w0, 0); x < std::min(w0 + w.kernel_w, w.width); ++x)
              plane[h * w.width + x] += share;
        }
    }
  });
}

}  // namespace minidl::kernels::cpu
