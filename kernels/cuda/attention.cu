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

__global__ void attention_dq_kernel(float* dq, float* delta, const float* dout, const float* q, const float* k,
                                    const float* v, const float* out, const float* lse, int64_t heads, int64_t t,
                                    int64_t s, int64_t d, float scale, bool causal) {
  MINIDL_GRID_LOOP(r, heads * t) {
    const int64_t h = r / t, i = r % t;
    delta[r] = math::dot_row(dout + r * d, out + r * d, d);
    math::attention_dq_row(dq + r * d, dout + r * d, q + r * d, k + h * s * d, v + h * s * d, lse[r], delta[r],
                           math::attention_keys(i, s, causal), d, scale);
  }
}

__global__ void attention_dkv_kernel(float* dk, float* dv, const float* delta, const float* dout, const float* q,
                                     const float* k, const float* v, const float* lse, int64_t heads, int64_t t,
                                     int64_t s, int64_t d, float scale, bool causal) {
  MINIDL_GRID_LOOP(r, heads * s) {
    const int64_t h = r / s, j = r % s;
    math::attention_dkv_row(dk + r * d, dv + r * d, k + r * d, v + r * d, q + h * t * d, dout + h * t * d, lse + h * t,
                            delta + h * t, causal ? j : 0, t, d, scale);
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
  if (heads * t > 0) {
    attention_dq_kernel<<<grid_for(heads * t, 64), 64, 0, stream()>>>(dq, delta, dout, q, k, v, out, lse, heads, t, s,
                                                                      d, scale, causal);
    MINIDL_CUDA_CHECK_LAUNCH(attention_dq_kernel);
  }
  if (heads * s > 0) {
    attention_dkv_kernel<<<grid_for(heads * s, 64), 64, 0, stream()>>>(dk, dv, delta, dout, q, k, v, lse, heads, t, s,
                                                                       d, scale, causal);
    MINIDL_CUDA_CHECK_LAUNCH(attention_dkv_kernel);
  }
}

}  // namespace minidl::kernels::cuda
