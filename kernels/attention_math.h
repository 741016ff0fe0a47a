// Fused scaled dot-product attention, one query row (or one key row) at a time,
// `__host__ __device__`: the CPU runs rows per loop iteration and the GPU a row per thread, through
// these same functions. docs/language-models.md derives the backward. For one head, with
// s_ij = scale·q_i·k_j over the keys j < n_i (n_i = i + 1 when causal, else S):
//   forward:   out_i = Σ_j p_ij v_j,  p_ij = e^(s_ij − L_i),  L_i = log Σ_j e^(s_ij) (kept: lse)
//              computed online (a running max m and sum l rescaled as each key arrives), so no
//              score is stored: a thread holds one score at a time, never a row of them.
//   backward:  δ_i = dout_i·out_i,  dp_ij = dout_i·v_j,  ds_ij = p_ij (dp_ij − δ_i)
//              dq_i = scale·Σ_j ds_ij k_j,  dk_j = scale·Σ_i ds_ij q_i,  dv_j = Σ_i p_ij dout_i
//   with p_ij recomputed from q, k and L_i. dq is a pass over query rows and dk, dv a pass over key
//   rows, each summing in a fixed order: no atomics, the same result every run.
#pragma once

#include <math.h>
#include <stdint.h>

#include "kernels/host_device.h"

namespace minidl::kernels::math {

MINIDL_HD inline float dot_row(const float* a, const float* b, int64_t d) {
  float s = 0.f;
  for (int64_t c = 0; c < d; ++c) s += a[c] * b[c];
  return s;
}

/// Keys a causal query row i sees: j ≤ i (PyTorch's is_causal: the top-left aligned lower
/// triangle), else all s.
MINIDL_HD inline int64_t attention_keys(int64_t i, int64_t s, bool causal) {
  return causal ? (i + 1 < s ? i + 1 : s) : s;
}

/// out_i and L_i for one query row against keys [0, n) of k and v (rows of d, `ks` and `vs` apart).
MINIDL_HD inline void attention_row(float* out, float* lse, const float* q, const float* k, int64_t ks, const float* v,
                                    int64_t vs, int64_t n, int64_t d, float scale) {
  for (int64_t c = 0; c < d; ++c) out[c] = 0.f;
  float m = -INFINITY, l = 0.f;
  for (int64_t j = 0; j < n; ++j) {
    const float s = scale * dot_row(q, k + j * ks, d);
    const float m_new = s > m ? s : m;
    const float rescale = expf(m - m_new), p = expf(s - m_new);
    l = l * rescale + p;
    for (int64_t c = 0; c < d; ++c) out[c] = out[c] * rescale + p * v[j * vs + c];
    m = m_new;
  }
  const float inv = n > 0 ? 1.f / l : 0.f;
  for (int64_t c = 0; c < d; ++c) out[c] *= inv;
  *lse = n > 0 ? m + logf(l) : -INFINITY;
}

/// dq_i for one query row (delta = δ_i, lse = L_i); k and v rows `ks` and `vs` apart.
MINIDL_HD inline void attention_dq_row(float* dq, const float* dout, const float* q, const float* k, int64_t ks,
                                       const float* v, int64_t vs, float lse, float delta, int64_t n, int64_t d,
                                       float scale) {
  for (int64_t c = 0; c < d; ++c) dq[c] = 0.f;
  for (int64_t j = 0; j < n; ++j) {
    const float p = expf(scale * dot_row(q, k + j * ks, d) - lse);
    const float ds = p * (dot_row(dout, v + j * vs, d) - delta);
    for (int64_t c = 0; c < d; ++c) dq[c] += scale * ds * k[j * ks + c];
  }
}

/// dk_j and dv_j for key row j against the query rows i in [first, t) of q and dout (rows `qs` and
/// `gs` apart).
MINIDL_HD inline void attention_dkv_row(float* dk, float* dv, const float* kj, const float* vj, const float* q,
                                        int64_t qs, const float* dout, int64_t gs, const float* lse,
                                        const float* delta, int64_t first, int64_t t, int64_t d, float scale) {
  for (int64_t c = 0; c < d; ++c) dk[c] = dv[c] = 0.f;
  for (int64_t i = first; i < t; ++i) {
    const float* qi = q + i * qs;
    const float* gi = dout + i * gs;
    const float p = expf(scale * dot_row(qi, kj, d) - lse[i]);
    const float ds = p * (dot_row(gi, vj, d) - delta[i]);
    for (int64_t c = 0; c < d; ++c) {
      dv[c] += p * gi[c];
      dk[c] += scale * ds * qi[c];
    }
  }
}

}  // namespace minidl::kernels::math
