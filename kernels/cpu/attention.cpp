// Fused attention on the CPU (the math: kernels/attention_math.h). A thread owns whole heads, and
// walks a head's query rows in blocks of `block_rows`: for a block it holds that block's scores
// (block_rows × keys, never a head's T × S) and computes them, P·V and the backward's products as
// small register-tiled matrix products over L1-resident rows (kernels/cpu/small_gemm.h), with the
// exponentials vectorized (math::vector_exp). A head's dk and dv are sums over its query blocks, in
// block order, by the one thread that owns the head: no atomics, the same result on any number of
// threads. Operands are read and written where they lie (AttentionLayout's strides), so q, k and v
// can be the head-split views of one [B, T, 3C] projection.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/attention_math.h"
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/small_gemm.h"
#include "kernels/elementwise_math.h"

namespace minidl::kernels::cpu {

namespace {

using L = AttentionLayout;

// Query rows per block: at most 16 (a causal block then computes few scores past its diagonal),
// fewer when the keys are so many that a block's scores would not stay in L2 (64k floats).
int64_t block_rows(int64_t s) { return std::clamp<int64_t>(65536 / std::max<int64_t>(s, 1), 1, 16); }

// x [n, d] rows `ld` apart, transposed into xt [d, n] (rows n apart): keys along the vector lanes.
void transpose_rows(float* xt, const float* x, int64_t ld, int64_t n, int64_t d) {
  for (int64_t j = 0; j < n; ++j)
    for (int64_t c = 0; c < d; ++c) xt[c * n + j] = x[j * ld + c];
}

// One row of scores x[0, n) → p[j] = e^(scale·x[j] − shift) for j < keys, 0 for keys ≤ j < n.
void exp_row(float* p, const float* x, int64_t keys, int64_t n, float scale, float shift) {
  for (int64_t j = 0; j < keys; ++j) p[j] = math::vector_exp(scale * x[j] - shift);
  for (int64_t j = keys; j < n; ++j) p[j] = 0.f;
}

float max_row(const float* x, int64_t n) {
  float m = -INFINITY;
  for (int64_t j = 0; j < n; ++j) m = std::max(m, x[j]);
  return m;
}

// The scratch of one thread: K^T (and V^T) of the head, and a block's scores and their products.
struct Scratch {
  std::vector<float> kt, vt, p, dp, pt, dst;
  Scratch(int64_t s, int64_t d, int64_t rows, bool backward)
      : kt(s * d), vt(backward ? s * d : 0), p(rows * s), dp(backward ? rows * s : 0),
        pt(backward ? s * rows : 0), dst(backward ? s * rows : 0) {}
};

// out and L for query rows [i0, i0 + rows) of head (b, h), whose keys' transpose is in w.kt.
// p_ij = e^(scale·s_ij − scale·m_i) / l_i with m_i the row's largest score, L_i = scale·m_i + log l_i.
void forward_block(float* out, float* lse, const float* q, const float* v, const L& l, int64_t b, int64_t h,
                   int64_t i0, int64_t rows, float scale, bool causal, Scratch& w) {
  const int64_t n = causal ? std::min(i0 + rows, l.s) : l.s;  // keys the block's last row sees
  small_gemm(w.p.data(), n, q + l.at(L::q, b, h, i0), l.strides[L::q][2], w.kt.data(), l.s, rows, n, l.d, false);
  float inv[16];
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t keys = math::attention_keys(i0 + r, l.s, causal);
    float* p = w.p.data() + r * n;
    const float m = scale * max_row(p, keys);
    exp_row(p, p, keys, n, scale, m);
    float sum = 0.f;
    for (int64_t j = 0; j < keys; ++j) sum += p[j];
    inv[r] = 1.f / sum;
    lse[i0 + r] = m + std::log(sum);
  }
  float* o = out + l.at(L::out, b, h, i0);
  const int64_t os = l.strides[L::out][2];
  small_gemm(o, os, w.p.data(), n, v + l.at(L::v, b, h, 0), l.strides[L::v][2], rows, l.d, n, false);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < l.d; ++c) o[r * os + c] *= inv[r];
}

}  // namespace

void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v, const L& l,
                       float scale, bool causal) {
  const int64_t heads = l.batch * l.heads, br = block_rows(l.s);
  parallel_for(heads, l.t * l.s * l.d * 4, [&](int64_t begin, int64_t end) {
    Scratch w(l.s, l.d, br, false);
    for (int64_t bh = begin; bh < end; ++bh) {
      const int64_t b = bh / l.heads, h = bh % l.heads;
      if (l.s == 0) {  // no keys: out 0 and L = −∞, as attention_row gives
        for (int64_t i = 0; i < l.t; ++i) {
          std::fill_n(out + l.at(L::out, b, h, i), l.d, 0.f);
          lse[bh * l.t + i] = -INFINITY;
        }
        continue;
      }
      transpose_rows(w.kt.data(), k + l.at(L::k, b, h, 0), l.strides[L::k][2], l.s, l.d);
      for (int64_t i0 = 0; i0 < l.t; i0 += br)
        forward_block(out, lse + bh * l.t, q, v, l, b, h, i0, std::min(br, l.t - i0), scale, causal, w);
    }
  });
}

namespace {

// The backward of query rows [i0, i0 + rows) of head (b, h): dq of those rows, and their terms of
// dk and dv added to the head's (w.kt, w.vt hold K^T and V^T):
//   p = e^(scale·q·kᵀ − L),  dp = dout·vᵀ,  ds = p ⊙ (dp − δ)·scale
//   dq = ds·k,  dk += dsᵀ·q,  dv += pᵀ·dout
void backward_block(float* dq, float* dk, float* dv, const float* delta, const float* dout, const float* q,
                    const float* k, const float* lse, const L& l, int64_t b, int64_t h, int64_t i0, int64_t rows,
                    float scale, bool causal, Scratch& w) {
  const int64_t n = causal ? std::min(i0 + rows, l.s) : l.s;
  const int64_t qs = l.strides[L::q][2], gs = l.strides[L::dout][2];
  const float* qb = q + l.at(L::q, b, h, i0);
  const float* gb = dout + l.at(L::dout, b, h, i0);
  small_gemm(w.p.data(), n, qb, qs, w.kt.data(), l.s, rows, n, l.d, false);
  small_gemm(w.dp.data(), n, gb, gs, w.vt.data(), l.s, rows, n, l.d, false);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t keys = math::attention_keys(i0 + r, l.s, causal);
    float *p = w.p.data() + r * n, *ds = w.dp.data() + r * n;
    exp_row(p, p, keys, n, scale, lse[i0 + r]);
    const float dl = delta[i0 + r];
    for (int64_t j = 0; j < n; ++j) ds[j] = p[j] * (ds[j] - dl) * scale;
  }
  small_gemm(dq + l.at(L::dq, b, h, i0), l.strides[L::dq][2], w.dp.data(), n, k + l.at(L::k, b, h, 0),
             l.strides[L::k][2], rows, l.d, n, false);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < n; ++j) {
      w.pt[j * rows + r] = w.p[r * n + j];
      w.dst[j * rows + r] = w.dp[r * n + j];
    }
  small_gemm(dv + l.at(L::dv, b, h, 0), l.strides[L::dv][2], w.pt.data(), rows, gb, gs, n, l.d, rows, true);
  small_gemm(dk + l.at(L::dk, b, h, 0), l.strides[L::dk][2], w.dst.data(), rows, qb, qs, n, l.d, rows, true);
}

}  // namespace

void attention_backward(float* dq, float* dk, float* dv, float* delta, const float* dout, const float* q,
                        const float* k, const float* v, const float* out, const float* lse, const L& l, float scale,
                        bool causal) {
  const int64_t heads = l.batch * l.heads, br = block_rows(l.s);
  parallel_for(heads, l.t * l.s * l.d * 8, [&](int64_t begin, int64_t end) {
    Scratch w(l.s, l.d, br, true);
    for (int64_t bh = begin; bh < end; ++bh) {
      const int64_t b = bh / l.heads, h = bh % l.heads;
      for (int64_t j = 0; j < l.s; ++j) {
        std::fill_n(dk + l.at(L::dk, b, h, j), l.d, 0.f);
        std::fill_n(dv + l.at(L::dv, b, h, j), l.d, 0.f);
      }
      for (int64_t i = 0; i < l.t; ++i)
        delta[bh * l.t + i] = math::dot_row(dout + l.at(L::dout, b, h, i), out + l.at(L::out, b, h, i), l.d);
      if (l.s == 0) {
        for (int64_t i = 0; i < l.t; ++i) std::fill_n(dq + l.at(L::dq, b, h, i), l.d, 0.f);
        continue;
      }
      transpose_rows(w.kt.data(), k + l.at(L::k, b, h, 0), l.strides[L::k][2], l.s, l.d);
      transpose_rows(w.vt.data(), v + l.at(L::v, b, h, 0), l.strides[L::v][2], l.s, l.d);
      for (int64_t i0 = 0; i0 < l.t; i0 += br)
        backward_block(dq, dk, dv, delta + bh * l.t, dout, q, k, lse + bh * l.t, l, b, h, i0,
                       std::min(br, l.t - i0), scale, causal, w);
    }
  });
}

}  // namespace minidl::kernels::cpu
