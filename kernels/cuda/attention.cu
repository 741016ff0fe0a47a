// Fused attention (kernels/attention_math.h): a thread per query row for the output and dq, a
// thread per key row for dk and dv, running the row math the CPU runs. No score matrix is stored
// and no atomics are used: each sum has a fixed order.
#include "kernels/attention_math.h"
#include "kernels/cuda/runtime.cuh"

namespace minidl::kernels::cuda {

namespace {

// ---- kernels

__global__ void attention_forward_kernel(float* out, float* lse, const float* q, const float* k, const float* v,
                                         int64_t heads, int64_t t, int64_t s, int64_t d, float scale, bool causal) {
  MINIDL_GRID_LOOP(r, heads * t) {
    const int64_t h = r / t, i = r % t;
    math::attention_row(out + r * d, lse + r, q + r * d, k + h * s * d, v + h * s * d,
                        math::attention_keys(i, s, causal), d, scale);
  }
}

// What both backward kernels read: the forward's operands and results, dout, and the sizes (one
// struct by value, so the two kernels and their launches cannot disagree on an argument's order).
struct AttentionBackwardArgs {
  const float *dout, *q, *k, *v, *out, *lse;
  int64_t heads, t, s, d;
  float scale;
  bool causal;
};

// A thread per query row r = (h, i): delta_r = dout_r · out_r, then dq_r.
__global__ void attention_dq_kernel(float* dq, float* delta, AttentionBackwardArgs a) {
  MINIDL_GRID_LOOP(r, a.heads * a.t) {
    const int64_t h = r / a.t, i = r % a.t, row = r * a.d, head_kv = h * a.s * a.d;
    delta[r] = math::dot_row(a.dout + row, a.out + row, a.d);
    math::attention_dq_row(dq + row, a.dout + row, a.q + row, a.k + head_kv, a.v + head_kv, a.lse[r], delta[r],
                           math::attention_keys(i, a.s, a.causal), a.d, a.scale);
  }
}

// A thread per key row r = (h, j): dk_r and dv_r, over the query rows of head h that see key j.
__global__ void attention_dkv_kernel(float* dk, float* dv, const float* delta, AttentionBackwardArgs a) {
  MINIDL_GRID_LOOP(r, a.heads * a.s) {
    const int64_t h = r / a.s, j = r % a.s, row = r * a.d, head_q = h * a.t * a.d;
    math::attention_dkv_row(dk + row, dv + row, a.k + row, a.v + row, a.q + head_q, a.dout + head_q, a.lse + h * a.t,
                            delta + h * a.t, a.causal ? j : 0, a.t, a.d, a.scale);
  }
}

}  // namespace

// ---- launchers

void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v, int64_t heads, int64_t t,
                       int64_t s, int64_t d, float scale, bool causal) {
  if (heads * t == 0) return;
  attention_forward_kernel<<<grid_for(heads * t, 64), 64, 0, stream()>>>(out, lse, q, k, v, heads, t, s, d, scale,
                                                                         causal);
  MINIDL_CUDA_CHECK_LAUNCH(attention_forward_kernel);
}

// delta is written by the dq pass and read by the dk/dv pass, which the stream orders after it.
void attention_backward(float* dq, float* dk, float* dv, float* delta, const float* dout, const float* q,
                        const float* k, const float* v, const float* out, const float* lse, int64_t heads, int64_t t,
                        int64_t s, int64_t d, float scale, bool causal) {
  const AttentionBackwardArgs args{dout, q, k, v, out, lse, heads, t, s, d, scale, causal};
  if (heads * t > 0) {
    attention_dq_kernel<<<grid_for(heads * t, 64), 64, 0, stream()>>>(dq, delta, args);
    MINIDL_CUDA_CHECK_LAUNCH(attention_dq_kernel);
  }
  if (heads * s > 0) {
    attention_dkv_kernel<<<grid_for(heads * s, 64), 64, 0, stream()>>>(dk, dv, delta, args);
    MINIDL_CUDA_CHECK_LAUNCH(attention_dkv_kernel);
  }
}

}  // namespace minidl::kernels::cuda
