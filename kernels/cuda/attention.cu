// Fused attention (kernels/attention_math.h): a thread per query row for the output and dq, a
// thread per key row for dk and dv, running the row math of the header on operands strided as
// AttentionLayout says. No score matrix is stored and no atomics are used: each sum has a fixed order.
#include "kernels/attention_math.h"
#include "kernels/cuda/runtime.cuh"

namespace minidl::kernels::cuda {

namespace {

// ---- kernels

// Row r of the flattened [batch·heads, rows] grid: its head (b, h) and its row i.
struct HeadRow {
  int64_t b, h, i;
};
__device__ inline HeadRow head_row(const AttentionLayout& l, int64_t r, int64_t rows) {
  const int64_t bh = r / rows;
  return {bh / l.heads, bh % l.heads, r % rows};
}

__global__ void attention_forward_kernel(float* out, float* lse, const float* q, const float* k, const float* v,
                                         AttentionLayout l, float scale, bool causal) {
  using L = AttentionLayout;
  MINIDL_GRID_LOOP(r, l.batch * l.heads * l.t) {
    const HeadRow x = head_row(l, r, l.t);
    math::attention_row(out + l.at(L::out, x.b, x.h, x.i), lse + r, q + l.at(L::q, x.b, x.h, x.i),
                        k + l.at(L::k, x.b, x.h, 0), l.strides[L::k][2], v + l.at(L::v, x.b, x.h, 0),
                        l.strides[L::v][2], math::attention_keys(x.i, l.s, causal), l.d, scale);
  }
}

__global__ void attention_dq_kernel(float* dq, float* delta, const float* dout, const float* q, const float* k,
                                    const float* v, const float* out, const float* lse, AttentionLayout l, float scale,
                                    bool causal) {
  using L = AttentionLayout;
  MINIDL_GRID_LOOP(r, l.batch * l.heads * l.t) {
    const HeadRow x = head_row(l, r, l.t);
    const float* g = dout + l.at(L::dout, x.b, x.h, x.i);
    delta[r] = math::dot_row(g, out + l.at(L::out, x.b, x.h, x.i), l.d);
    math::attention_dq_row(dq + l.at(L::dq, x.b, x.h, x.i), g, q + l.at(L::q, x.b, x.h, x.i),
                           k + l.at(L::k, x.b, x.h, 0), l.strides[L::k][2], v + l.at(L::v, x.b, x.h, 0),
                           l.strides[L::v][2], lse[r], delta[r], math::attention_keys(x.i, l.s, causal), l.d, scale);
  }
}

__global__ void attention_dkv_kernel(float* dk, float* dv, const float* delta, const float* dout, const float* q,
                                     const float* k, const float* v, const float* lse, AttentionLayout l, float scale,
                                     bool causal) {
  using L = AttentionLayout;
  MINIDL_GRID_LOOP(r, l.batch * l.heads * l.s) {
    const HeadRow x = head_row(l, r, l.s);
    const int64_t first = (r / l.s) * l.t;  // the head's rows of lse and delta
    math::attention_dkv_row(dk + l.at(L::dk, x.b, x.h, x.i), dv + l.at(L::dv, x.b, x.h, x.i),
                            k + l.at(L::k, x.b, x.h, x.i), v + l.at(L::v, x.b, x.h, x.i), q + l.at(L::q, x.b, x.h, 0),
                            l.strides[L::q][2], dout + l.at(L::dout, x.b, x.h, 0), l.strides[L::dout][2],
                            lse + first, delta + first, causal ? x.i : 0, l.t, l.d, scale);
  }
}

}  // namespace

// ---- launchers

void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                       const AttentionLayout& layout, float scale, bool causal) {
  const int64_t rows = layout.batch * layout.heads * layout.t;
  if (rows == 0) return;
  attention_forward_kernel<<<grid_for(rows, 64), 64, 0, stream()>>>(out, lse, q, k, v, layout, scale, causal);
  MINIDL_CUDA_CHECK_LAUNCH(attention_forward_kernel);
}

// delta is written by the dq pass and read by the dk/dv pass, which the stream orders after it.
void attention_backward(float* dq, float* dk, float* dv, float* delta, const float* dout, const float* q,
                        const float* k, const float* v, const float* out, const float* lse,
                        const AttentionLayout& layout, float scale, bool causal) {
  const int64_t heads = layout.batch * layout.heads;
  if (heads * layout.t > 0) {
    attention_dq_kernel<<<grid_for(heads * layout.t, 64), 64, 0, stream()>>>(dq, delta, dout, q, k, v, out, lse,
                                                                              layout, scale, causal);
    MINIDL_CUDA_CHECK_LAUNCH(attention_dq_kernel);
  }
  if (heads * layout.s > 0) {
    attention_dkv_kernel<<<grid_for(heads * layout.s, 64), 64, 0, stream()>>>(dk, dv, delta, dout, q, k, v, lse,
                                                                               layout, scale, causal);
    MINIDL_CUDA_CHECK_LAUNCH(attention_dkv_kernel);
  }
}

}  // namespace minidl::kernels::cuda
