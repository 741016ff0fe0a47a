#include "nn/gpt.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <minidl/autograd/elementwise.h>

#include "core/grad_mode.h"
#include "nn/functional.h"

namespace minidl::nn {

// ---- GPTConfig

std::string GPTConfig::str() const {
  return str_cat("vocab=", vocab, ",block=", block, ",layers=", layers, ",heads=", heads, ",embd=", embd,
                 ",dropout=", dropout);
}

GPTConfig GPTConfig::parse(const std::string& text, const std::string& what) {
  GPTConfig c;
  int64_t* sizes[] = {&c.vocab, &c.block, &c.layers, &c.heads, &c.embd};
  const char* names[] = {"vocab", "block", "layers", "heads", "embd", "dropout"};
  bool seen[6] = {};
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, end - start);
    const size_t eq = item.find('=');
    size_t key = 6;
    for (size_t k = 0; k < 6 && eq != std::string::npos; ++k)
      if (item.compare(0, eq, names[k]) == 0 && eq == std::string(names[k]).size()) key = k;
    check(key < 6 && !seen[key], what, ": bad GPT config '", text, "' at '", item,
          "' (expected vocab=…,block=…,layers=…,heads=…,embd=…,dropout=…, each once)");
    seen[key] = true;
    const char* first = item.data() + eq + 1;
    const char* last = item.data() + item.size();
    const auto r = key < 5 ? std::from_chars(first, last, *sizes[key]) : std::from_chars(first, last, c.dropout);
    check(r.ec == std::errc{} && r.ptr == last && first != last, what, ": bad GPT config value '", item, "'");
    start = end + 1;
  }
  for (size_t k = 0; k < 6; ++k) check(seen[k], what, ": GPT config '", text, "' lacks ", names[k]);
  c.validate();
  return c;
}

void GPTConfig::validate() const {
  check(vocab > 0, "GPT: vocab must be > 0, got ", vocab);
  check(block > 0, "GPT: block must be > 0, got ", block);
  check(layers > 0, "GPT: layers must be > 0, got ", layers);
  check(heads > 0, "GPT: heads must be > 0, got ", heads);
  check(embd > 0, "GPT: embd must be > 0, got ", embd);
  check(embd % heads == 0, "GPT: heads=", heads, " does not divide embd=", embd);
  check(dropout >= 0.f && dropout < 1.f, "GPT: dropout must be in [0, 1), got ", dropout);
  // Sizes a checkpoint could forge: refuse before allocating (2^31 elements per weight at most).
  check(vocab <= (1 << 24) && block <= (1 << 24) && embd <= (1 << 16) && layers <= 4096, "GPT: config ", str(),
        " is beyond the sizes minidl builds (vocab, block ≤ 2^24, embd ≤ 2^16, layers ≤ 4096)");
}

// ---- the model

GPT::GPT(GPTConfig config) : GPT(config, default_generator()) {}

GPT::GPT(GPTConfig config, Generator& gen) : config_(config) {
  config.validate();
  // The layers' own initializations (nn::Linear's uniform) are overwritten below, so they draw from
  // a scratch generator and `gen` gives exactly the reference's sequence of draws.
  Generator scratch(0);
  const int64_t c = config.embd;
  transformer = std::make_shared<ModuleDict>();
  wte = transformer->insert("wte", std::make_shared<Embedding>(config.vocab, c, scratch));
  wpe = transformer->insert("wpe", std::make_shared<Embedding>(config.block, c, scratch));
  drop = transformer->insert("drop", std::make_shared<Dropout>(config.dropout));
  h = transformer->insert("h", std::make_shared<ModuleList>());
  for (int64_t i = 0; i < config.layers; ++i)
    h->emplace<TransformerBlock>(c, config.heads, config.dropout, /*bias=*/true, scratch);
  ln_f = transformer->insert("ln_f", std::make_shared<LayerNorm>(c));
  register_module("transformer", transformer);

  // The reference's init, in named_parameters() order: biases 0, 2-D weights N(0, 0.02), the
  // residual projections N(0, 0.02/√(2·layers)) (GPT-2's scaling: each block adds two of them to
  // the residual stream); LayerNorm weights stay 1.
  NoGradGuard no_grad;
  const float proj_std = 0.02f / std::sqrt(2.f * static_cast<float>(config.layers));
  for (const auto& [name, p] : named_parameters()) {
    if (name.ends_with("bias")) {
      p.zero_();
    } else if (p.dim() == 2) {
      const float std = name.ends_with("c_proj.weight") ? proj_std : 0.02f;
      p.copy_(Tensor::randn(p.shape(), gen) * std);
    }
  }
}

TransformerBlock& GPT::block(size_t i) const { return static_cast<TransformerBlock&>((*h)[i]); }

// x = drop(wte[idx] + wpe[pos]);  x = block_l(x) for each layer;  logits = ln_f(x)·wteᵀ
// (the tied output layer: wte's gradient gets the embedding's scatter-add plus this GEMM's dW).
Tensor GPT::forward(const Tensor& idx, std::vector<KVCache>* caches) {
  check(idx.defined() && idx.dtype() == DType::int32 && idx.dim() == 2 && idx.size(1) > 0,
        "GPT: expected int32 token ids [B, T] with T >= 1, got ",
        idx.defined() ? str_cat(idx.dtype(), " ", idx.shape()) : std::string("undefined"));
  check(!caches || caches->size() == static_cast<size_t>(config_.layers), "GPT: expected ", config_.layers,
        " KV caches, got ", caches ? caches->size() : 0);
  const int64_t past = caches ? caches->front().length() : 0, t = idx.size(1);
  check(past + t <= config_.block, "GPT: ", past + t, " positions", past ? str_cat(" (", past, " cached)") : "",
        " exceed the block size ", config_.block, " (crop the context to its last ", config_.block, " tokens)");
  const Tensor pos = Tensor::arange(past, past + t, 1, {.dtype = DType::int32, .device = idx.device()});
  Tensor x = drop->forward(wte->forward(idx) + wpe->forward(pos));
  for (size_t i = 0; i < h->size(); ++i) x = block(i).forward(x, caches ? &(*caches)[i] : nullptr);
  return functional::linear(ln_f->forward(x), wte->weight, Tensor{});
}

Tensor GPT::loss(const Tensor& logits, const Tensor& targets) {
  check(logits.defined() && logits.dim() == 3, "GPT::loss: expected logits [B, T, V], got ",
        logits.defined() ? logits.shape().str() : std::string("undefined"));
  return functional::cross_entropy(logits.reshape({-1, logits.size(2)}), targets.reshape({-1}));
}

std::vector<optim::DecayGroup> GPT::optimizer_groups(float weight_decay) const {
  optim::DecayGroup decay{{}, weight_decay}, no_decay{{}, 0.f};
  for (const Tensor& p : parameters()) (p.dim() >= 2 ? decay : no_decay).params.push_back(p);
  return {std::move(decay), std::move(no_decay)};
}

void GPT::set_dropout_generator(Generator& gen) {
  drop->set_generator(gen);
  for (size_t i = 0; i < h->size(); ++i) {
    block(i).attn->set_dropout_generator(gen);
    block(i).mlp->dropout->set_generator(gen);
  }
}

std::string GPT::extra_repr() const {
  return str_cat("vocab=", config_.vocab, ", block=", config_.block, ", lm_head tied to transformer.wte");
}

// ---- sampling

int32_t sample_token(std::span<const float> logits, float temperature, int64_t top_k, Generator& gen) {
  const int64_t v = static_cast<int64_t>(logits.size());
  check(v > 0, "sample_token: no logits");
  check(temperature >= 0.f && std::isfinite(temperature), "sample_token: temperature must be >= 0, got ", temperature);
  check(top_k >= 0 && top_k <= v, "sample_token: top_k must be in [0, ", v, "], got ", top_k);
  if (temperature == 0.f) return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  // torch: v = topk(logits, k); logits[logits < v[-1]] = −inf; multinomial(softmax(logits / T)).
  float threshold = -INFINITY;
  if (top_k > 0 && top_k < v) {
    std::vector<float> sorted(logits.begin(), logits.end());
    std::nth_element(sorted.begin(), sorted.begin() + (top_k - 1), sorted.end(), std::greater<float>());
    threshold = sorted[static_cast<size_t>(top_k - 1)];
  }
  const float m = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p(logits.size(), 0.0);
  double total = 0;
  for (size_t i = 0; i < logits.size(); ++i)
    if (logits[i] >= threshold) total += p[i] = std::exp((static_cast<double>(logits[i]) - m) / temperature);
  double u = gen.uniform_double() * total;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] > 0 && u < p[i]) return static_cast<int32_t>(i);
    u -= p[i];
  }
  // Rounding left u at the very end: the last token that had any probability.
  for (size_t i = p.size(); i-- > 0;)
    if (p[i] > 0) return static_cast<int32_t>(i);
  return 0;
}

}  // namespace minidl::nn
