#include "nn/transformer.h"

#include <cmath>

#include <minidl/autograd/compare.h>
#include <minidl/autograd/elementwise.h>
#include <minidl/autograd/matmul.h>
#include <minidl/autograd/shape_ops.h>
#include <minidl/autograd/softmax.h>

#include "core/grad_mode.h"
#include "nn/functional.h"

namespace minidl::nn {

CausalSelfAttention::CausalSelfAttention(int64_t embd, int64_t heads, float dropout, bool bias, Generator& gen)
    : embd_(embd), heads_(heads) {
  check(embd > 0 && heads > 0, "CausalSelfAttention: embd and heads must be positive, got embd=", embd,
        ", heads=", heads);
  check(embd % heads == 0, "CausalSelfAttention: heads=", heads, " does not divide embd=", embd);
  c_attn = std::make_shared<Linear>(embd, 3 * embd, bias, gen);
  c_proj = std::make_shared<Linear>(embd, embd, bias, gen);
  attn_dropout = std::make_shared<Dropout>(dropout);
  resid_dropout = std::make_shared<Dropout>(dropout);
  register_module("c_attn", c_attn);
  register_module("c_proj", c_proj);
  register_module("attn_dropout", attn_dropout);
  register_module("resid_dropout", resid_dropout);
}

void CausalSelfAttention::set_dropout_generator(Generator& gen) {
  attn_dropout->set_generator(gen);
  resid_dropout->set_generator(gen);
}

// q, k, v = split(x·W_attnᵀ + b, C);  per head h: y_h = softmax(q_h·k_hᵀ/√D + causal mask)·v_h;
// out = concat_h(y_h)·W_projᵀ + b. Heads are a batch dimension: [B, T, C] → [B, H, T, D] is a view.
Tensor CausalSelfAttention::forward(const Tensor& x, KVCache* cache) {
  check(x.defined() && x.dim() == 3 && x.size(2) == embd_, "CausalSelfAttention: expected input [B, T, ", embd_,
        "], got ", x.defined() ? x.shape().str() : std::string("undefined"));
  const int64_t b = x.size(0), t = x.size(1), d = embd_ / heads_;
  const int64_t past = cache ? cache->length() : 0;
  check(past == 0 || t == 1, "CausalSelfAttention: with a filled KV cache (", past,
        " positions) the input must be one new position, got ", t);
  const Tensor packed = c_attn->forward(x);
  if (!cache && !(is_training() && attn_dropout->p() > 0.f)) {
    // Training (without attention dropout) and evaluation: one op reads q, k and v where they lie in
    // the packed projection and writes y as [B, T, C]; its backward writes d(packed) at once
    // (nn/functional.h's self_attention: the split-and-transpose below, without the copies).
    return resid_dropout->forward(c_proj->forward(functional::self_attention(packed, heads_, /*is_causal=*/true)));
  }
  std::vector<Tensor> qkv = split(packed, embd_, 2);
  const auto heads = [&](const Tensor& z) { return z.view({b, t, heads_, d}).transpose(1, 2); };  // [B, H, T, D]
  Tensor q = heads(qkv[0]), k = heads(qkv[1]), v = heads(qkv[2]);
  if (cache) {
    if (past > 0) {
      k = cat({cache->k, k}, 2);
      v = cat({cache->v, v}, 2);
    }
    cache->k = k.contiguous();
    cache->v = v.contiguous();
  }
  // One new position after the cache attends to every cached one: no mask. Otherwise causal.
  const bool causal = past == 0;
  Tensor y;
  if (is_training() && attn_dropout->p() > 0.f && past == 0) {
    // Dropout on the attention weights needs them spelled out (the fused op never stores them).
    Tensor att = matmul(q, k.transpose(-2, -1)) * (1.f / std::sqrt(static_cast<float>(d)));
    const Tensor hidden = eq(tril(Tensor::ones({t, t}, {.device = x.device()})), 0.f);
    y = matmul(attn_dropout->forward(softmax(masked_fill(att, hidden, -INFINITY), -1)), v);
  } else {
    y = functional::scaled_dot_product_attention(q, k, v, causal);
  }
  return resid_dropout->forward(c_proj->forward(y.transpose(1, 2).reshape({b, t, embd_})));
}

// p = softmax(q·kᵀ/√D + M), M_ij = −∞ for j > i: exp(−∞) is exactly 0, so nothing above the diagonal.
Tensor CausalSelfAttention::attention_weights(const Tensor& x) {
  check(x.defined() && x.dim() == 3 && x.size(2) == embd_,
        "CausalSelfAttention::attention_weights: expected input [B, T, ", embd_, "], got ",
        x.defined() ? x.shape().str() : std::string("undefined"));
  NoGradGuard no_grad;
  const int64_t b = x.size(0), t = x.size(1), d = embd_ / heads_;
  std::vector<Tensor> qkv = split(c_attn->forward(x), embd_, 2);
  const auto heads = [&](const Tensor& z) { return z.view({b, t, heads_, d}).transpose(1, 2); };  // [B, H, T, D]
  const Tensor att = matmul(heads(qkv[0]), heads(qkv[1]).transpose(-2, -1)) * (1.f / std::sqrt(static_cast<float>(d)));
  const Tensor hidden = eq(tril(Tensor::ones({t, t}, {.device = x.device()})), 0.f);
  return softmax(masked_fill(att, hidden, -INFINITY), -1).contiguous();
}

std::string CausalSelfAttention::extra_repr() const { return str_cat("embd=", embd_, ", heads=", heads_); }

MLP::MLP(int64_t embd, float dropout, bool bias, Generator& gen) {
  c_fc = std::make_shared<Linear>(embd, 4 * embd, bias, gen);
  gelu = std::make_shared<GELU>();
  c_proj = std::make_shared<Linear>(4 * embd, embd, bias, gen);
  this->dropout = std::make_shared<Dropout>(dropout);
  register_module("c_fc", c_fc);
  register_module("gelu", gelu);
  register_module("c_proj", c_proj);
  register_module("dropout", this->dropout);
}

// c_proj(gelu(c_fc(x))), with c_fc's bias and the exact GELU in the GEMM's epilogue (one pass over
// the [B, T, 4C] activations each way instead of three; nn/functional.h's linear).
Tensor MLP::forward(const Tensor& x) {
  const Tensor hidden = gelu->tanh_approximation()
                            ? gelu->forward(c_fc->forward(x))
                            : functional::linear(x, c_fc->weight, c_fc->bias, functional::Activation::gelu);
  return dropout->forward(c_proj->forward(hidden));
}

TransformerBlock::TransformerBlock(int64_t embd, int64_t heads, float dropout, bool bias, Generator& gen) {
  ln_1 = std::make_shared<LayerNorm>(embd, 1e-5f, true, bias);
  attn = std::make_shared<CausalSelfAttention>(embd, heads, dropout, bias, gen);
  ln_2 = std::make_shared<LayerNorm>(embd, 1e-5f, true, bias);
  mlp = std::make_shared<MLP>(embd, dropout, bias, gen);
  register_module("ln_1", ln_1);
  register_module("attn", attn);
  register_module("ln_2", ln_2);
  register_module("mlp", mlp);
}

Tensor TransformerBlock::forward(const Tensor& x, KVCache* cache) {
  const Tensor h = x + attn->forward(ln_1->forward(x), cache);
  return h + mlp->forward(ln_2->forward(h));
}

}  // namespace minidl::nn
