// Fused attention (kernels/attention_math.h): query rows in parallel for the output and dq, key
// rows in parallel for dk and dv. A thread holds one score at a time; each sum runs in a fixed
// order, whatever the threads.
#include "kernels/attention_math.h"
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/parallel.h"

namespace minidl::kernels::cpu {

void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v, int64_t heads, int64_t t,
                       int64_t s, int64_t d, float scale, bool causal) {
  parallel_for(heads * t, s * d * 4, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t h = r / t, i = r % t;
      math::attention_row(out + r * d, lse + r, q + r * d, k + h * s * d, v + h * s * d,
                          math::attention_keys(i, s, causal), d, scale);
    }
  });
}

void attention_backward(float* dq, float* dk, float* dv, float* delta, const float* dout, const float* q,
                        const float* k, const float* v, const float* out, const float* lse, int64_t heads, int64_t t,
                        int64_t s, int64_t d, float scale, bool causal) {
  parallel_for(heads * t, d, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) delta[r] = math::dot_row(dout + r * d, out + r * d, d);
  });
  parallel_for(heads * t, s * d * 6, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t h = r / t, i = r % t;
      math::attention_dq_row(dq + r * d, dout + r * d, q + r * d, k + h * s * d, v + h * s * d, lse[r], delta[r],
                             math::attention_keys(i, s, causal), d, scale);
    }
  });
  parallel_for(heads * s, t * d * 8, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t h = r / s, j = r % s;
      math::attention_dkv_row(dk + r * d, dv + r * d, k + r * d, v + r * d, q + h * t * d, dout + h * t * d,
                              lse + h * t, delta + h * t, causal ? j : 0, t, d, scale);
    }
  });
}

}  // namespace minidl::kernels::cpu
