// scaled_dot_product_attention as one fused op (kernels/attention_math.h holds the math and
// docs/language-models.md its derivation). Equal in value to the spelled-out
//   softmax(masked_fill(q·kᵀ/√D, causal_mask, −∞), −1)·v
// without storing its [T, S] scores or their softmax per head. self_attention is the same op on a
// packed [B, T, 3C] projection, with the heads' split and merge done by strides instead of copies.
#include <array>
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

// y = merge(sdpa(split_heads(q), split_heads(k), split_heads(v))) for [q | k | v] = qkv;
// d(qkv) = [dq | dk | dv], each written by the attention's backward straight into its columns.
Tensor self_attention(const Tensor& qkv_in, int64_t heads, bool is_causal) {
  dispatch::check_float(qkv_in, "self_attention");
  check(qkv_in.dim() == 3 && heads > 0 && qkv_in.size(2) % (3 * heads) == 0, "self_attention: expected qkv [B, T, 3·C] ",
        "with C a multiple of heads, got ", qkv_in.shape(), " and ", heads, " heads");
  const int64_t b = qkv_in.size(0), t = qkv_in.size(1), c = qkv_in.size(2) / 3, d = c / heads;
  // Views without a tape: the op is recorded once, against qkv itself.
  const Tensor qkv = qkv_in.detach().strides()[2] == 1 ? qkv_in.detach() : qkv_in.detach().contiguous();
  const auto head_views = [b, t, c, heads, d](const Tensor& x) {
    std::array<Tensor, 3> parts;
    for (int64_t i = 0; i < 3; ++i) parts[i] = x.slice(2, i * c, (i + 1) * c).view({b, t, heads, d}).transpose(1, 2);
    return parts;
  };
  const auto [q, k, v] = head_views(qkv);
  const float scale = d > 0 ? 1.f / std::sqrt(static_cast<float>(d)) : 1.f;
  auto r = dispatch::attention(q, k, v, scale, is_causal, "self_attention");
  Tensor y = r.out.transpose(1, 2).reshape({b, t, c});  // a view: out is laid out [B, T, H, D]
  autograd::record("self_attention", y, {qkv_in}, Saves{qkv_in, r.out, r.lse},
                   [qkv, out = r.out, lse = r.lse, scale, is_causal, head_views](const Tensor& dy) {
                     const Tensor dqkv = Tensor::empty(qkv.shape(), {.device = qkv.device()});
                     const auto [q, k, v] = head_views(qkv);
                     const auto [dq, dk, dv] = head_views(dqkv);
                     const Tensor dout = dy.reshape(out.transpose(1, 2).shape()).transpose(1, 2);
                     const dispatch::AttentionGrads into{dq, dk, dv};
                     dispatch::attention_backward(dout, q, k, v, out, lse, scale, is_causal, &into);
                     return Grads{dqkv};
                   });
  return y;
}

}  // namespace minidl::nn::functional
