// scaled_dot_product_attention as one fused op (kernels/attention_math.h holds the math and
// docs/language-models.md its derivation). Equal in value to the spelled-out
//   softmax(masked_fill(q·kᵀ/√D, causal_mask, −∞), −1)·v
// without storing its [T, S] scores or their softmax per head.
#include <cmath>

#include "autograd/node.h"
#include "core/dispatch.h"
#include "nn/functional.h"

namespace minidl::nn::functional {

using autograd::Grads;
using autograd::record;
using autograd::Saves;

// out_i = Σ_j p_ij v_j, p_ij = softmax_j(s_ij), s_ij = q_i·k_j/√D;
// dq_i = Σ_j ds_ij k_j/√D, dk_j = Σ_i ds_ij q_i/√D, dv_j = Σ_i p_ij dout_i, ds_ij = p_ij(dout_i·v_j − dout_i·out_i)
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, bool is_causal) {
  dispatch::check_defined(q, "scaled_dot_product_attention");
  const float scale = q.dim() >= 1 && q.size(-1) > 0 ? 1.f / std::sqrt(static_cast<float>(q.size(-1))) : 1.f;
  auto r = dispatch::attention(q, k, v, scale, is_causal, "scaled_dot_product_attention");
  record("scaled_dot_product_attention", r.out, {q, k, v}, Saves{q, k, v, r.out, r.lse},
         [q, k, v, out = r.out.detach(), lse = r.lse, scale, is_causal](const Tensor& dout) {
           auto g = dispatch::attention_backward(dout, q, k, v, out, lse, scale, is_causal);
           return Grads{q.requires_grad() ? g.dq : Tensor{}, k.requires_grad() ? g.dk : Tensor{},
                        v.requires_grad() ? g.dv : Tensor{}};
         });
  return r.out;
}

}  // namespace minidl::nn::functional
