// nn::GPT: a decoder-only transformer language model, nanoGPT's architecture and initialization
// (the recipe ../shared/bench/pytorch_char_gpt.py defines): token + learned position embeddings,
// `layers` pre-LayerNorm TransformerBlocks, a final LayerNorm, and an output layer that shares the
// token embedding's weights. Parameter names are nanoGPT's ("transformer.wte.weight",
// "transformer.h.0.attn.c_attn.weight", …). V = vocab, T ≤ block positions, C = embd.
//
// NOTE: the tied output layer is not a second parameter: parameters() and state_dict() hold
// transformer.wte.weight once (so an optimizer updates it once, with both gradients summed), and
// forward multiplies by it directly. nanoGPT's state_dict also lists "lm_head.weight"; minidl's does not.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <minidl/core/generator.h>
#include <minidl/data/safetensors.h>
#include <minidl/nn/dropout.h>
#include <minidl/nn/embedding.h>
#include <minidl/nn/layer_norm.h>
#include <minidl/nn/module.h>
#include <minidl/nn/module_list.h>
#include <minidl/nn/transformer.h>

namespace minidl::nn {

/// The reference's defaults (nanoGPT's CPU recipe) except vocab, which the data decides.
struct GPTConfig {
  int64_t vocab = 0;   // tokens (bytes present in the corpus: 114 for the fortunes)
  int64_t block = 64;  // the longest context
  int64_t layers = 4;
  int64_t heads = 4;  // must divide embd
  int64_t embd = 128;
  float dropout = 0.f;  // in [0, 1)
  /// "vocab=114,block=64,layers=4,heads=4,embd=128,dropout=0": what a checkpoint records.
  std::string str() const;
  /// Parses str()'s form (every key once, nothing else); `what` names the source in errors.
  static GPTConfig parse(const std::string& text, const std::string& what);
  /// Throws minidl::Error naming the offending value: sizes > 0, heads dividing embd, dropout in [0, 1).
  void validate() const;
};

/// How generate() picks each token from the logits of the last position.
struct GenerateOptions {
  float temperature = 1.f;  // logits are divided by it; 0: greedy (the most likely token)
  int64_t top_k = 0;        // keep the k most likely tokens (ties kept); 0: all
  bool kv_cache = true;     // false: recompute the whole context for every token (for checking)
};

class GPT : public Module {
 public:
  /// Built and initialized from `gen`, as the reference: every 2-D weight from N(0, 0.02), the
  /// output projections (c_proj.weight) from N(0, 0.02/√(2·layers)), biases 0, LayerNorms 1 and 0;
  /// drawn in named_parameters() order. Dropout masks come from default_generator() until
  /// set_dropout_generator.
  GPT(GPTConfig config, Generator& gen);
  explicit GPT(GPTConfig config);

  /// int32 token ids (B, T), T ≤ block → logits (B, T, V).
  Tensor forward(const Tensor& idx) override { return forward(idx, nullptr); }
  /// With caches (one per layer): idx holds the positions after the cached ones (a prompt when
  /// they are empty, else one token); past + T ≤ block.
  Tensor forward(const Tensor& idx, std::vector<KVCache>* caches);
  /// Mean cross-entropy of logits (B, T, V) against targets (B, T) int32: the training loss.
  static Tensor loss(const Tensor& logits, const Tensor& targets);

  /// Called with each generated token and the logits it was drawn from (V values, before
  /// temperature and top-k), as soon as it is drawn.
  using TokenCallback = std::function<void(int32_t token, std::span<const float> logits)>;
  /// Appends `max_new_tokens` tokens to `prompt` (non-empty; only its last `block` tokens are
  /// used), each drawn from the model's distribution for the next token given the context, with
  /// `gen`. nanoGPT's sampling: the context is the last `block` tokens; once it is longer, it is
  /// cropped to them. With the KV cache each new token within the block costs one position's
  /// forward; past the block, the window moves and the cache is recomputed from the cropped
  /// context (so the logits equal a full recompute's). Memory stays bounded however many tokens.
  /// Runs in evaluation mode without recording (training mode is restored after).
  void generate(std::span<const int32_t> prompt, int64_t max_new_tokens, const GenerateOptions& options, Generator& gen,
                const TokenCallback& on_token);
  /// The same, returning the new tokens.
  std::vector<int32_t> generate(std::span<const int32_t> prompt, int64_t max_new_tokens, const GenerateOptions& options,
                                Generator& gen);

  /// The attention weights of one window of token ids idx (1, T), T ≤ block, for every layer and
  /// head: (layers, heads, T, T) float32 on the model's device, [l][h][i][j] the weight position i
  /// gives position j (rows sum to 1, exactly 0 for j > i). Each layer's come from its
  /// CausalSelfAttention::attention_weights of that layer's own input. Runs in evaluation mode
  /// without recording (the training mode is restored after), so it changes no generator.
  Tensor attention_maps(const Tensor& idx);

  /// Parameters as the reference's configure_optimizers groups them: weight decay on the 2-D
  /// weights (embeddings included), none on biases and LayerNorm weights.
  std::vector<optim::DecayGroup> optimizer_groups(float weight_decay) const override;

  /// Draw every dropout mask from `gen` (a trainer that saves its state in checkpoints).
  void set_dropout_generator(Generator& gen);
  const GPTConfig& config() const { return config_; }
  std::string type_name() const override { return "GPT"; }
  std::string extra_repr() const override;

  std::shared_ptr<ModuleDict> transformer;  // wte, wpe, drop, h, ln_f
  std::shared_ptr<Embedding> wte;           // (V, C); also the output layer's weight
  std::shared_ptr<Embedding> wpe;           // (block, C)
  std::shared_ptr<Dropout> drop;
  std::shared_ptr<ModuleList> h;  // TransformerBlocks
  std::shared_ptr<LayerNorm> ln_f;

 private:
  TransformerBlock& block(size_t i) const;
  GPTConfig config_;
};

/// Picks a token from `logits` (V values) as GenerateOptions says: divides by the temperature,
/// keeps the top_k largest, and draws from the softmax with one gen.uniform_double(); temperature 0
/// takes the first largest. What generate() uses.
int32_t sample_token(std::span<const float> logits, float temperature, int64_t top_k, Generator& gen);

// ---- checkpoints: a GPT in a safetensors file

/// A byte-level vocabulary: token i is byte vocabulary[i] (sorted, each byte once).
using Vocabulary = std::vector<uint8_t>;

/// The metadata that records a GPT and its vocabulary in a safetensors checkpoint, to merge into
/// a checkpoint's own: "gpt.config" (GPTConfig::str()) and "gpt.vocabulary" (the bytes, two hex
/// digits each). The tensors are the model's state_dict() under their names.
data::Metadata gpt_checkpoint_metadata(const GPT& model, const Vocabulary& vocabulary);
/// Writes model and vocabulary (plus `extra` metadata) to `path`, atomically (save_safetensors).
void save_gpt(const std::string& path, const GPT& model, const Vocabulary& vocabulary, data::Metadata extra = {});

struct LoadedGPT {
  std::shared_ptr<GPT> model;
  Vocabulary vocabulary;
};
/// Rebuilds the GPT that `file` records (read from `path`): its config and vocabulary from the
/// metadata, its weights from the tensors of its state_dict's names (others, such as an optimizer's
/// state, are ignored). A file without "gpt.config" is not a GPT checkpoint: Error naming the path.
LoadedGPT gpt_from_checkpoint(const data::SafetensorsFile& file, const std::string& path);
/// load_safetensors(path, checksum required) then gpt_from_checkpoint.
LoadedGPT load_gpt(const std::string& path);

}  // namespace minidl::nn
