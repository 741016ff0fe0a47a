// The pieces of a GPT block, as nanoGPT names them (so state_dicts read alike): CausalSelfAttention
// (c_attn, c_proj), MLP (c_fc, gelu, c_proj) and the pre-LayerNorm TransformerBlock (ln_1, attn,
// ln_2, mlp). B = batch, T = positions, C = embedding size, H = heads, D = C / H.
// Attention runs as one fused op over all heads at once (functional::scaled_dot_product_attention
// on [B, H, T, D]); with a KVCache it processes only new positions against the cached keys/values.
#pragma once

#include <memory>

#include <minidl/core/generator.h>
#include <minidl/nn/activation.h>
#include <minidl/nn/dropout.h>
#include <minidl/nn/layer_norm.h>
#include <minidl/nn/linear.h>
#include <minidl/nn/module.h>

namespace minidl::nn {

/// One layer's keys and values of the positions seen so far, for incremental decoding.
struct KVCache {
  Tensor k, v;  // (B, H, S, D), undefined before the first forward
  int64_t length() const { return k.defined() ? k.size(2) : 0; }
  void clear() { k = v = Tensor{}; }
};

class CausalSelfAttention : public Module {
 public:
  /// heads must divide embd (sizes > 0, dropout in [0, 1)). Linear layers initialized as
  /// nn::Linear's, from `gen`; dropout masks from default_generator() until set_generator.
  CausalSelfAttention(int64_t embd, int64_t heads, float dropout, bool bias, Generator& gen);

  /// (B, T, C) → (B, T, C): each position attends to itself and the positions before it.
  Tensor forward(const Tensor& x) override { return forward(x, nullptr); }
  /// With a cache: x holds the positions after the cache's (all of a prompt when the cache is empty,
  /// else one new position), whose keys and values are appended to it.
  Tensor forward(const Tensor& x, KVCache* cache);
  /// The attention weights of x (B, T, C) → (B, H, T, T): row i of head h is
  /// softmax_j(q_i·k_jᵀ/√D) over the keys j ≤ i, exactly 0 above the diagonal. What the fused op
  /// computes and never stores (a look inside the model, for reports): spelled out, without
  /// recording, and without attention dropout.
  Tensor attention_weights(const Tensor& x);
  std::string type_name() const override { return "CausalSelfAttention"; }
  std::string extra_repr() const override;
  void set_dropout_generator(Generator& gen);

  std::shared_ptr<Linear> c_attn;          // (C → 3C): q, k and v in one GEMM
  std::shared_ptr<Linear> c_proj;          // (C → C)
  std::shared_ptr<Dropout> attn_dropout;   // on the attention weights (training, p > 0 only)
  std::shared_ptr<Dropout> resid_dropout;  // on the output

 private:
  int64_t embd_, heads_;
};

/// The feed-forward half of a block: c_proj(gelu(c_fc(x))), 4× wide, then dropout.
class MLP : public Module {
 public:
  MLP(int64_t embd, float dropout, bool bias, Generator& gen);
  Tensor forward(const Tensor& x) override;  // (…, C) → (…, C)
  std::string type_name() const override { return "MLP"; }

  std::shared_ptr<Linear> c_fc;    // (C → 4C)
  std::shared_ptr<GELU> gelu;      // exact, as the reference's F.gelu
  std::shared_ptr<Linear> c_proj;  // (4C → C)
  std::shared_ptr<Dropout> dropout;
};

/// Pre-LayerNorm residual block: x = x + attn(ln_1(x)); x = x + mlp(ln_2(x)).
class TransformerBlock : public Module {
 public:
  TransformerBlock(int64_t embd, int64_t heads, float dropout, bool bias, Generator& gen);
  Tensor forward(const Tensor& x) override { return forward(x, nullptr); }
  Tensor forward(const Tensor& x, KVCache* cache);
  std::string type_name() const override { return "Block"; }

  std::shared_ptr<LayerNorm> ln_1;
  std::shared_ptr<CausalSelfAttention> attn;
  std::shared_ptr<LayerNorm> ln_2;
  std::shared_ptr<MLP> mlp;
};

}  // namespace minidl::nn
