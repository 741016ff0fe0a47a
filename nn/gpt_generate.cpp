// The GPT at inference (nn/gpt.h): GPT::generate, autoregressive sampling with a KV cache, and
// GPT::attention_maps, the attention weights of a window. Both run in evaluation mode without
// recording. Sampling: each layer keeps the keys and values of the positions seen, so a new token
// costs one position's forward instead of the whole context's. Positions are absolute within the window (learned
// position embeddings), so when the context outgrows the block the window moves by one and every cached key changes:
// the cache is then recomputed from the cropped context, as nanoGPT's generate recomputes everything every time.
#include <deque>

#include <minidl/autograd/elementwise.h>
#include <minidl/autograd/shape_ops.h>

#include "core/grad_mode.h"
#include "nn/gpt.h"

namespace minidl::nn {

namespace {

// The last position's logits of `logits` (1, T, V), on the host.
std::vector<float> last_row(const Tensor& logits) {
  return logits.slice(1, logits.size(1) - 1, logits.size(1)).contiguous().to(Device::cpu()).to_vector();
}

Tensor tokens_tensor(const std::deque<int32_t>& window, Device device) {
  const std::vector<int32_t> ids(window.begin(), window.end());
  return Tensor::from_vector(ids, {1, static_cast<int64_t>(ids.size())}).to(device);
}

// Restores the training mode generate() found.
struct EvalModeGuard {
  explicit EvalModeGuard(Module& m) : module(m), was_training(m.is_training()) { m.eval(); }
  ~EvalModeGuard() { module.train(was_training); }
  Module& module;
  bool was_training;
};

}  // namespace

void GPT::generate(std::span<const int32_t> prompt, int64_t max_new_tokens, const GenerateOptions& options,
                   Generator& gen, const TokenCallback& on_token) {
  check(!prompt.empty(), "GPT::generate: the prompt is empty (give at least one token)");
  check(max_new_tokens >= 0, "GPT::generate: max_new_tokens must be >= 0, got ", max_new_tokens);
  check(options.temperature >= 0.f, "GPT::generate: temperature must be >= 0 (0: greedy), got ", options.temperature);
  check(options.top_k >= 0 && options.top_k <= config_.vocab, "GPT::generate: top_k must be in [0, ", config_.vocab,
        "] (0: all tokens), got ", options.top_k);
  for (int32_t t : prompt)
    check(t >= 0 && t < config_.vocab, "GPT::generate: prompt token ", t, " is outside the vocabulary [0, ",
          config_.vocab, ")");
  if (max_new_tokens == 0) return;
  NoGradGuard no_grad;
  EvalModeGuard eval_mode(*this);
  const Device device = wte->weight.device();
  const size_t block = static_cast<size_t>(config_.block);
  std::deque<int32_t> window(prompt.size() > block ? prompt.end() - config_.block : prompt.begin(), prompt.end());
  std::vector<KVCache> caches(static_cast<size_t>(config_.layers));
  const auto recompute = [&] {
    for (KVCache& c : caches) c.clear();
    return last_row(forward(tokens_tensor(window, device), options.kv_cache ? &caches : nullptr));
  };
  std::vector<float> logits = recompute();
  for (int64_t n = 0;; ++n) {
    const int32_t token = sample_token(logits, options.temperature, options.top_k, gen);
    if (on_token) on_token(token, logits);
    if (n + 1 == max_new_tokens) break;
    window.push_back(token);
    if (window.size() > block) window.pop_front();
    // Within the block, the cache holds every position but the new one: one position's forward.
    if (options.kv_cache && caches.front().length() + 1 == static_cast<int64_t>(window.size())) {
      const Tensor one = Tensor::from_vector(std::vector<int32_t>{token}, {1, 1}).to(device);
      logits = last_row(forward(one, &caches));
    } else {
      logits = recompute();
    }
  }
}

std::vector<int32_t> GPT::generate(std::span<const int32_t> prompt, int64_t max_new_tokens,
                                   const GenerateOptions& options, Generator& gen) {
  std::vector<int32_t> out;
  generate(prompt, max_new_tokens, options, gen, [&](int32_t token, std::span<const float>) { out.push_back(token); });
  return out;
}

// x_0 = wte[idx] + wpe[0..T);  maps[l] = block_l.attn.attention_weights(ln_1(x_l));  x_{l+1} = block_l(x_l).
Tensor GPT::attention_maps(const Tensor& idx) {
  check(idx.defined() && idx.dtype() == DType::int32 && idx.dim() == 2 && idx.size(0) == 1 && idx.size(1) > 0 &&
            idx.size(1) <= config_.block,
        "GPT::attention_maps: expected int32 token ids [1, T] with 1 <= T <= ", config_.block, ", got ",
        idx.defined() ? str_cat(idx.dtype(), " ", idx.shape()) : std::string("undefined"));
  NoGradGuard no_grad;
  EvalModeGuard eval_mode(*this);
  const int64_t t = idx.size(1);
  const Tensor pos = Tensor::arange(0, t, 1, {.dtype = DType::int32, .device = idx.device()});
  Tensor x = drop->forward(wte->forward(idx) + wpe->forward(pos));
  std::vector<Tensor> maps;
  for (size_t i = 0; i < h->size(); ++i) {
    maps.push_back(block(i).attn->attention_weights(block(i).ln_1->forward(x)).view({config_.heads, t, t}));
    x = block(i).forward(x);
  }
  return stack(maps, 0);
}

}  // namespace minidl::nn
