// Fused attention on the CPU (the math: kernels/attention_math.h). A thread owns whole heads, and
// walks a head's query rows in blocks of 16: for a block it holds that block's scores, transposed
// (keys × 16, never a head's T × S), so that the 16 query rows lie along the vector lanes. Then
//   - the scores are one small product, S^T = K·Q_b^T, reading K's rows where they lie;
//   - the softmax over each query's keys is lane-wise arithmetic down the rows of S^T;
//   - the backward's dV += P^T·dO and dK += dS^T·Q_b take P^T and dS^T as they are, and
//     dQ_b = dS·K (like out_b = P·V) reads the transpose with a stride (small_gemm's a_step);
// so the only copies are the block's Q_b^T (and dO_b^T) of 16 × d floats. Products are small
// register-tiled GEMMs over L1-resident rows (kernels/cpu/small_gemm.h); exponentials are
// vectorized (math::vector_exp). A head's dk and dv are sums over its query blocks, in block order,
// by the one thread that owns the head: no atomics, the same result on any number of threads.
// Operands are read and written where they lie (AttentionLayout's strides), so q, k and v can be
// the head-split views of one [B, T, 3C] projection.
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

constexpr int64_t kLanes = 16;  // query rows per block: one AVX-512 vector of lanes

// Rows [i0, i0 + rows) of x (rows `ld` apart, d features) transposed into xt [d, 16]; lanes past
// `rows` are 0 (finite scores that nothing reads).
void transpose_block(float* xt, const float* x, int64_t ld, int64_t rows, int64_t d) {
  for (int64_t c = 0; c < d; ++c)
    for (int64_t r = 0; r < kLanes; ++r) xt[c * kLanes + r] = r < rows ? x[r * ld + c] : 0.f;
}

// The keys each lane's query row sees, and the most any of them sees (the block's key count n).
int64_t lane_keys(int64_t* keys, int64_t i0, int64_t rows, const L& l, bool causal) {
  int64_t n = 0;
  for (int64_t r = 0; r < kLanes; ++r) {
    keys[r] = r < rows ? math::attention_keys(i0 + r, l.s, causal) : 0;
    n = std::max(n, keys[r]);
  }
  return n;
}

// The scratch of one thread: a block's Q^T (and dO^T), and its scores (and their gradient).
struct Scratch {
  std::vector<float> qt, gt, st, dst;
  Scratch(int64_t s, int64_t d, bool backward)
      : qt(d * kLanes), gt(backward ? d * kLanes : 0), st(s * kLanes), dst(backward ? s * kLanes : 0) {}
};

// c[r, :] = Σ_{j < keys[r]} w[r, j]·x[j, :] for the block's rows, w read from its transpose wt
// [n, 16]. The keys every row sees go through one small product; the rest of each row's keys (the
// causal diagonal) are added row by row, so a key a row does not see is never multiplied in (a NaN
// or ∞ there cannot reach an earlier row through 0·x, as in kernels/attention_math.h and on CUDA).
void lane_product(float* c, int64_t ldc, const float* wt, const int64_t* keys, int64_t rows, const float* x,
                  int64_t ldx, int64_t d) {
  int64_t common = keys[0];
  for (int64_t r = 1; r < rows; ++r) common = std::min(common, keys[r]);
  small_gemm(c, ldc, wt, 1, x, ldx, rows, d, common, false, kLanes);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = common; j < keys[r]; ++j) {
      const float w = wt[j * kLanes + r];
      for (int64_t col = 0; col < d; ++col) c[r * ldc + col] += w * x[j * ldx + col];
    }
}

// out and L for query rows [i0, i0 + rows) of head (b, h), with m_i = max_j scale·s_ij:
//   p_ij = e^(scale·s_ij − m_i) / l_i,  l_i = Σ_j e^(scale·s_ij − m_i),  L_i = m_i + log l_i.
void forward_block(float* out, float* lse, const float* q, const float* k, const float* v, const L& l, int64_t b,
                   int64_t h, int64_t i0, int64_t rows, float scale, bool causal, Scratch& w) {
  int64_t keys[kLanes];
  const int64_t n = lane_keys(keys, i0, rows, l, causal);
  transpose_block(w.qt.data(), q + l.at(L::q, b, h, i0), l.strides[L::q][2], rows, l.d);
  float* st = w.st.data();
  small_gemm(st, kLanes, k + l.at(L::k, b, h, 0), l.strides[L::k][2], w.qt.data(), kLanes, n, kLanes, l.d, false);
  float m[kLanes], sum[kLanes];
  for (int64_t r = 0; r < kLanes; ++r) m[r] = -INFINITY, sum[r] = 0.f;
  for (int64_t j = 0; j < n; ++j)
    for (int64_t r = 0; r < kLanes; ++r) m[r] = std::max(m[r], j < keys[r] ? scale * st[j * kLanes + r] : -INFINITY);
  for (int64_t r = rows; r < kLanes; ++r) m[r] = 0.f;  // lanes without a query: finite, unread
  for (int64_t j = 0; j < n; ++j)
    for (int64_t r = 0; r < kLanes; ++r) {
      const float p = j < keys[r] ? math::vector_exp(scale * st[j * kLanes + r] - m[r]) : 0.f;
      st[j * kLanes + r] = p;
      sum[r] += p;
    }
  float* o = out + l.at(L::out, b, h, i0);
  const int64_t os = l.strides[L::out][2];
  // out_b = P·V with P read from S^T.
  lane_product(o, os, st, keys, rows, v + l.at(L::v, b, h, 0), l.strides[L::v][2], l.d);
  for (int64_t r = 0; r < rows; ++r) {
    const float inv = 1.f / sum[r];
    for (int64_t c = 0; c < l.d; ++c) o[r * os + c] *= inv;
    lse[i0 + r] = m[r] + std::log(sum[r]);
  }
}

}  // namespace

void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v, const L& l,
                       float scale, bool causal) {
  const int64_t heads = l.batch * l.heads;
  parallel_for(heads, l.t * l.s * l.d * 4, [&](int64_t begin, int64_t end) {
    Scratch w(l.s, l.d, false);
    for (int64_t bh = begin; bh < end; ++bh) {
      const int64_t b = bh / l.heads, h = bh % l.heads;
      if (l.s == 0) {  // no keys: out 0 and L = −∞, as attention_row gives
        for (int64_t i = 0; i < l.t; ++i) {
          std::fill_n(out + l.at(L::out, b, h, i), l.d, 0.f);
          lse[bh * l.t + i] = -INFINITY;
        }
        continue;
      }
      for (int64_t i0 = 0; i0 < l.t; i0 += kLanes)
        forward_block(out, lse + bh * l.t, q, k, v, l, b, h, i0, std::min(kLanes, l.t - i0), scale, causal, w);
    }
  });
}

namespace {

// The backward of query rows [i0, i0 + rows) of head (b, h): dq of those rows, and their terms of
// dk and dv added to the head's:
//   p = e^(scale·q·kᵀ − L),  dp = dout·vᵀ,  ds = p ⊙ (dp − δ)·scale
//   dq = ds·k,  dk += dsᵀ·q,  dv += pᵀ·dout
void backward_block(float* dq, float* dk, float* dv, const float* delta, const float* dout, const float* q,
                    const float* k, const float* v, const float* lse, const L& l, int64_t b, int64_t h, int64_t i0,
                    int64_t rows, float scale, bool causal, Scratch& w) {
  int64_t keys[kLanes];
  const int64_t n = lane_keys(keys, i0, rows, l, causal);
  const int64_t qs = l.strides[L::q][2], gs = l.strides[L::dout][2], ks = l.strides[L::k][2];
  const float* qb = q + l.at(L::q, b, h, i0);
  const float* gb = dout + l.at(L::dout, b, h, i0);
  const float* kh = k + l.at(L::k, b, h, 0);
  transpose_block(w.qt.data(), qb, qs, rows, l.d);
  transpose_block(w.gt.data(), gb, gs, rows, l.d);
  float *pt = w.st.data(), *dst = w.dst.data();
  small_gemm(pt, kLanes, kh, ks, w.qt.data(), kLanes, n, kLanes, l.d, false);
  small_gemm(dst, kLanes, v + l.at(L::v, b, h, 0), l.strides[L::v][2], w.gt.data(), kLanes, n, kLanes, l.d, false);
  float lr[kLanes], dl[kLanes];
  for (int64_t r = 0; r < kLanes; ++r) lr[r] = r < rows ? lse[i0 + r] : 0.f, dl[r] = r < rows ? delta[i0 + r] : 0.f;
  for (int64_t j = 0; j < n; ++j)
    for (int64_t r = 0; r < kLanes; ++r) {
      const float p = j < keys[r] ? math::vector_exp(scale * pt[j * kLanes + r] - lr[r]) : 0.f;
      pt[j * kLanes + r] = p;
      dst[j * kLanes + r] = j < keys[r] ? p * (dst[j * kLanes + r] - dl[r]) * scale : 0.f;
    }
  // dq_b = dS·K, dS read from dS^T; dk += dS^T·Q_b and dv += P^T·dO_b over the block's rows.
  lane_product(dq + l.at(L::dq, b, h, i0), l.strides[L::dq][2], dst, keys, rows, kh, ks, l.d);
  small_gemm(dv + l.at(L::dv, b, h, 0), l.strides[L::dv][2], pt, kLanes, gb, gs, n, l.d, rows, true);
  small_gemm(dk + l.at(L::dk, b, h, 0), l.strides[L::dk][2], dst, kLanes, qb, qs, n, l.d, rows, true);
}

}  // namespace

void attention_backward(float* dq, float* dk, float* dv, float* delta, const float* dout, const float* q,
                        const float* k, const float* v, const float* out, const float* lse, const L& l, float scale,
                        bool causal) {
  const int64_t heads = l.batch * l.heads;
  parallel_for(heads, l.t * l.s * l.d * 8, [&](int64_t begin, int64_t end) {
    Scratch w(l.s, l.d, true);
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
      for (int64_t i0 = 0; i0 < l.t; i0 += kLanes)
        backward_block(dq, dk, dv, delta + bh * l.t, dout, q, k, v, lse + bh * l.t, l, b, h, i0,
                       std::min(kLanes, l.t - i0), scale, causal, w);
    }
  });
}

}  // namespace minidl::kernels::cpu
