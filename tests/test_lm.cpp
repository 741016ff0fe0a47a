// Language models: the transformer modules, nn::GPT against the reference (PyTorch, committed by
// scripts/gen_gpt_reference.py), generation with and without the KV cache, parameter groups,
// data::TextDataset and GPT checkpoints.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <minidl/minidl.h>
#include "reference/gpt_reference.h"
#include "reference/gpt_steps.h"
#include "testing.h"

using namespace minidl;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() / ("minidl-lm-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

std::string repr(const nn::Module& m) {
  std::ostringstream os;
  os << m;
  return os.str();
}

// Fills the parameters as scripts/gen_gpt_reference.py does.
void set_reference_weights(nn::GPT& model) {
  NoGradGuard no_grad;
  int k = 0;
  for (const Tensor& p : model.parameters()) {
    std::vector<float> v(static_cast<size_t>(p.numel()));
    for (size_t j = 0; j < v.size(); ++j)
      v[j] = static_cast<float>(0.02 * k + 0.15 * std::sin(0.37 * static_cast<double>(j) + 1.3 * k));
    p.copy_(Tensor::from_vector(v, p.shape()));
    ++k;
  }
}

nn::GPTConfig reference_config() {
  using namespace gpt_reference;
  return {.vocab = kVocab, .block = kBlock, .layers = kLayers, .heads = kHeads, .embd = kEmbd};
}

// The largest |a − b| over the largest |b|, for vectors of one length.
double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(static_cast<double>(a[i]) - b[i]));
  return d;
}

}  // namespace

TEST_SUITE("lm") {
  TEST_CASE("Embedding, LayerNorm, GELU and SiLU modules call their ops and print like PyTorch") {
    Generator gen(1);
    nn::Embedding emb(5, 3, gen);
    CHECK(repr(emb) == "Embedding(5, 3)");
    const Tensor idx = Tensor::from_vector({4, 0, 4}, {3});
    const std::vector<float> w = emb.weight.to_vector(), out = emb(idx).to_vector();
    CHECK(emb(idx).shape() == Shape{3, 3});
    for (int c = 0; c < 3; ++c) {
      CHECK(out[static_cast<size_t>(c)] == w[static_cast<size_t>(12 + c)]);
      CHECK(out[static_cast<size_t>(3 + c)] == w[static_cast<size_t>(c)]);
    }
    CHECK_THROWS_WITH_AS(nn::Embedding(0, 3), doctest::Contains("got 0 and 3"), Error);

    nn::LayerNorm ln(4);
    CHECK(repr(ln) == "LayerNorm((4,), eps=1e-05, elementwise_affine=true)");
    CHECK(ln.weight.to_vector() == std::vector<float>(4, 1.f));
    CHECK(ln.bias.to_vector() == std::vector<float>(4, 0.f));
    const Tensor x = Tensor::from_vector({1.f, 2.f, 3.f, 5.f, -1.f, 0.f, 1.f, 4.f}, {2, 4});
    CHECK(ln(x).to_vector() == nn::functional::layer_norm(x, {4}, ln.weight, ln.bias).to_vector());
    CHECK(nn::LayerNorm(4, 1e-5f, true, false).parameters().size() == 1);
    CHECK_THROWS_WITH_AS(nn::LayerNorm(0), doctest::Contains("normalized_shape"), Error);

    nn::GELU gelu, gelu_tanh(true);
    CHECK(repr(gelu) == "GELU(approximate='none')");
    CHECK(repr(gelu_tanh) == "GELU(approximate='tanh')");
    CHECK(gelu(x).to_vector() == nn::functional::gelu(x).to_vector());
    CHECK(gelu_tanh(x).to_vector() == nn::functional::gelu(x, true).to_vector());
    nn::SiLU silu;
    CHECK(repr(silu) == "SiLU()");
    CHECK(silu(x).to_vector() == nn::functional::silu(x).to_vector());
  }

  TEST_CASE("ModuleList and ModuleDict name their modules and have no forward") {
    nn::ModuleList list;
    list.emplace<nn::Linear>(2, 3);
    list.emplace<nn::Linear>(3, 1, false);
    CHECK(list.size() == 2);
    const NamedTensors named = list.named_parameters();
    REQUIRE(named.size() == 3);
    CHECK(named[0].first == "0.weight");
    CHECK(named[2].first == "1.weight");
    CHECK(list[1].type_name() == "Linear");
    CHECK_THROWS_AS(list[2], Error);
    CHECK_THROWS_WITH_AS(list(Tensor::zeros({1, 2})), doctest::Contains("no forward"), Error);
    nn::ModuleDict dict;
    dict.insert("ln", std::make_shared<nn::LayerNorm>(3));
    CHECK(dict.named_parameters()[0].first == "ln.weight");
    CHECK_THROWS_WITH_AS(dict["x"], doctest::Contains("has: ln"), Error);
  }

  TEST_CASE("CausalSelfAttention equals attention spelled out with a mask, head by head") {
    Generator gen(3);
    const int64_t b = 2, t = 5, c = 8, heads = 2, d = c / heads;
    nn::CausalSelfAttention attn(c, heads, 0.f, true, gen);
    const Tensor x = Tensor::randn({b, t, c}, gen);
    const std::vector<float> got = attn(x).to_vector();
    // Spelled out: per batch row and head, softmax over keys j ≤ i of q_i·k_j/√d, weights · v.
    const std::vector<float> qkv = attn.c_attn->forward(x).to_vector();
    std::vector<float> y(static_cast<size_t>(b * t * c));
    for (int64_t n = 0; n < b; ++n)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t i = 0; i < t; ++i) {
          const auto at = [&](int64_t pos, int64_t part, int64_t e) {
            return static_cast<double>(qkv[static_cast<size_t>((n * t + pos) * 3 * c + part * c + h * d + e)]);
          };
          std::vector<double> s(static_cast<size_t>(i + 1));
          double m = -INFINITY, total = 0;
          for (int64_t j = 0; j <= i; ++j) {
            for (int64_t e = 0; e < d; ++e) s[static_cast<size_t>(j)] += at(i, 0, e) * at(j, 1, e);
            s[static_cast<size_t>(j)] /= std::sqrt(static_cast<double>(d));
            m = std::max(m, s[static_cast<size_t>(j)]);
          }
          for (double& v : s) total += v = std::exp(v - m);
          for (int64_t e = 0; e < d; ++e) {
            double acc = 0;
            for (int64_t j = 0; j <= i; ++j) acc += s[static_cast<size_t>(j)] / total * at(j, 2, e);
            y[static_cast<size_t>((n * t + i) * c + h * d + e)] = static_cast<float>(acc);
          }
        }
    const std::vector<float> want = attn.c_proj->forward(Tensor::from_vector(y, {b, t, c})).to_vector();
    // Float32 sums of at most t·d terms in the attention and c in the projection, all of magnitude ≲ 4.
    CHECK(max_diff(got, want) < 64 * (t * d + c) * 0x1p-24 * 4);
    // With dropout, training spells attention out (matmul, mask, softmax, dropout, matmul); at
    // p = 1e-9 nothing is dropped and 1/(1 − p) rounds to 1, so it must equal the fused op.
    Generator same(3);
    nn::CausalSelfAttention spelled(c, heads, 1e-9f, true, same);
    for (size_t i = 0; i < attn.parameters().size(); ++i) {
      NoGradGuard no_grad;
      spelled.parameters()[i].copy_(attn.parameters()[i]);
    }
    CHECK(spelled.is_training());
    CHECK(max_diff(spelled(x).to_vector(), got) < 64 * (t * d + c) * 0x1p-24 * 4);
    CHECK_THROWS_WITH_AS(nn::CausalSelfAttention(10, 4, 0.f, true, gen),
                         doctest::Contains("heads=4 does not divide embd=10"), Error);
    CHECK_THROWS_AS(attn(Tensor::zeros({2, 5, 6})), Error);
  }

  TEST_CASE("GPT has the reference's 816,128 parameters at vocab 114, under nanoGPT's names") {
    Generator gen(1337);
    nn::GPT gpt({.vocab = 114}, gen);
    int64_t n = 0;
    for (const Tensor& p : gpt.parameters()) n += p.numel();
    CHECK(n == 816128);
    const NamedTensors named = gpt.named_parameters();
    CHECK(named.front().first == "transformer.wte.weight");
    CHECK(named[1].first == "transformer.wpe.weight");
    CHECK(named[4].first == "transformer.h.0.attn.c_attn.weight");
    CHECK(named.back().first == "transformer.ln_f.bias");
    for (const auto& [name, p] : named) CHECK(name.find("lm_head") == std::string::npos);
    // nanoGPT's init: biases 0, LayerNorm weights 1, c_proj weights N(0, 0.02/√8), others N(0, 0.02).
    for (const auto& [name, p] : named) {
      const std::vector<float> v = p.to_vector();
      double mean = 0, sq = 0;
      for (float x : v) mean += x, sq += static_cast<double>(x) * x;
      mean /= static_cast<double>(v.size());
      const double sd = std::sqrt(sq / static_cast<double>(v.size()) - mean * mean);
      if (name.ends_with("bias")) {
        CHECK(sq == 0);
      } else if (p.dim() == 1) {
        CHECK(v == std::vector<float>(v.size(), 1.f));
      } else {
        const double want = name.ends_with("c_proj.weight") ? 0.02 / std::sqrt(8.0) : 0.02;
        // A sample of n ≥ 8192 normals: its sd is within 5 standard errors (want/√(2n)) of want.
        INFO(name);
        CHECK(std::abs(sd - want) < 5 * want / std::sqrt(2.0 * static_cast<double>(v.size())));
      }
    }
    const std::string r = repr(gpt);
    CHECK(r.find("(wte): Embedding(114, 128)") != std::string::npos);
    CHECK(r.find("(c_attn): Linear(in_features=128, out_features=384, bias=True)") != std::string::npos);
    CHECK(r.find("(gelu): GELU(approximate='none')") != std::string::npos);
  }

  TEST_CASE("GPT's config is validated, naming the bad value") {
    const auto fails = [](nn::GPTConfig c, const char* what) {
      CHECK_THROWS_WITH_AS(nn::GPT{c}, doctest::Contains(what), Error);
    };
    fails({.vocab = 10, .heads = 3}, "heads=3 does not divide embd=128");
    fails({.vocab = 0}, "vocab must be > 0, got 0");
    fails({.vocab = 10, .block = -1}, "block must be > 0, got -1");
    fails({.vocab = 10, .layers = 0}, "layers must be > 0, got 0");
    fails({.vocab = 10, .embd = 0}, "embd must be > 0, got 0");
    fails({.vocab = 10, .dropout = 1.f}, "dropout must be in [0, 1), got 1");
    const nn::GPTConfig c{.vocab = 9, .block = 7, .layers = 1, .heads = 2, .embd = 4, .dropout = 0.25f};
    const nn::GPTConfig back = nn::GPTConfig::parse(c.str(), "test");
    CHECK(back.str() == c.str());
    CHECK_THROWS_WITH_AS(nn::GPTConfig::parse("vocab=9,block=7", "x"), doctest::Contains("lacks layers"), Error);
    CHECK_THROWS_WITH_AS(nn::GPTConfig::parse(c.str() + ",vocab=3", "x"), doctest::Contains("each once"), Error);
    nn::GPT gpt({.vocab = 5, .block = 4, .layers = 1, .heads = 1, .embd = 4});
    CHECK_THROWS_WITH_AS(gpt(Tensor::zeros({1, 5}, {.dtype = DType::int32})),
                         doctest::Contains("5 positions exceed the block size 4"), Error);
  }

  TEST_CASE("GPT's logits, loss and tied-embedding gradient match the PyTorch reference") {
    using namespace gpt_reference;
    nn::GPT gpt(reference_config());
    REQUIRE(static_cast<int>(gpt.parameters().size()) == kParams);
    set_reference_weights(gpt);
    const Tensor idx =
        Tensor::from_vector(std::vector<int32_t>(gpt_reference::idx.begin(), gpt_reference::idx.end()), {kBatch, kT});
    const Tensor tgt = Tensor::from_vector(
        std::vector<int32_t>(gpt_reference::targets.begin(), gpt_reference::targets.end()), {kBatch, kT});
    const Tensor out = gpt(idx);
    CHECK(out.shape() == Shape{kBatch, kT, kVocab});
    // Every value is a chain of sums of at most 4·kEmbd terms of magnitude ≲ 1 through 2 layers:
    // float32 reorderings stay far below 1e-5, a wrong formula far above.
    CHECK(max_diff(out.to_vector(), gpt_reference::logits) < 1e-5);
    const Tensor loss = nn::GPT::loss(out, tgt);
    CHECK(loss.item() == doctest::Approx(gpt_reference::loss).epsilon(1e-6));
    loss.backward();
    // wte.grad = the lookup's scatter-add + the output layer's dW: both paths, summed.
    CHECK(max_diff(gpt.wte->weight.grad().to_vector(), wte_grad) < 1e-6);
  }

  TEST_CASE("AdamW over GPT::optimizer_groups steps as torch.optim.AdamW with the reference's two groups") {
    using namespace gpt_reference;
    nn::GPT gpt(reference_config());
    set_reference_weights(gpt);
    const std::vector<optim::DecayGroup> groups = gpt.optimizer_groups(0.1f);
    REQUIRE(groups.size() == 2);
    CHECK(groups[0].weight_decay == 0.1f);
    CHECK(groups[1].weight_decay == 0.f);
    for (const Tensor& p : groups[0].params) CHECK(p.dim() == 2);
    for (const Tensor& p : groups[1].params) CHECK(p.dim() == 1);
    CHECK(groups[0].params.size() == 2 + 4 * kLayers);
    auto opt = optim::make_grouped<optim::AdamW>(groups, {.lr = 1e-2f, .betas = {0.9f, 0.99f}, .eps = 1e-8f});
    REQUIRE(opt->param_groups().size() == 2);
    CHECK(opt->param_groups()[1].lr == 1e-2f);
    const Tensor idx =
        Tensor::from_vector(std::vector<int32_t>(gpt_reference::idx.begin(), gpt_reference::idx.end()), {kBatch, kT});
    const Tensor tgt = Tensor::from_vector(
        std::vector<int32_t>(gpt_reference::targets.begin(), gpt_reference::targets.end()), {kBatch, kT});
    for (int s = 0; s < kSteps; ++s) {
      const Tensor loss = nn::GPT::loss(gpt(idx), tgt);
      opt->zero_grad();
      loss.backward();
      opt->step();
      CHECK(loss.item() == doctest::Approx(step_losses[static_cast<size_t>(s)]).epsilon(1e-5));
    }
    // NOTE: the keys' bias has a gradient of exactly 0 (adding q·b to every score of a query leaves
    // its softmax unchanged), so its float gradient is rounding noise, which Adam normalizes into
    // steps of up to about lr either way: those elements may differ by kSteps·lr. Every other weight
    // moves by clear gradients and agrees within 1e-4, a hundredth of one step of lr = 1e-2.
    const NamedTensors named = gpt.named_parameters();
    for (size_t k = 0; k < named.size(); ++k) {
      const std::vector<float> v = named[k].second.to_vector();
      const bool key_bias = named[k].first.ends_with("attn.c_attn.bias");
      for (size_t j = 0; j < v.size(); ++j) {
        const bool noise = key_bias && j >= static_cast<size_t>(kEmbd) && j < static_cast<size_t>(2 * kEmbd);
        INFO(named[k].first, "[", j, "]");
        CHECK(std::abs(v[j] - final_params[k][j]) <= (noise ? 1.5 * kSteps * 1e-2 : 1e-4));
      }
    }
  }

  TEST_CASE("make_optimizer by name over groups gives each group its own weight decay, none meaning none") {
    nn::GPT gpt({.vocab = 5, .block = 4, .layers = 1, .heads = 1, .embd = 4});
    auto opt = optim::make_optimizer("adamw", gpt.optimizer_groups(0.1f), {.lr = 3e-3f});
    REQUIRE(opt->param_groups().size() == 2);
    CHECK(opt->param_groups()[0].weight_decay == 0.1f);
    CHECK(opt->param_groups()[1].weight_decay == 0.f);  // not AdamW's default 1e-2
    CHECK(opt->param_groups()[1].lr == 3e-3f);
    // A plain module: one group, all decayed.
    nn::Linear lin(3, 2);
    const auto one = lin.optimizer_groups(0.5f);
    REQUIRE(one.size() == 1);
    CHECK(one[0].params.size() == 2);
  }

  TEST_CASE("generate with the KV cache gives the logits of a full recompute, across the block boundary") {
    Generator gen(5);
    nn::GPT gpt({.vocab = 11, .block = 8, .layers = 2, .heads = 2, .embd = 16}, gen);
    const std::vector<int32_t> prompt = {1, 2, 3};
    std::vector<std::vector<float>> cached, full;
    std::vector<int32_t> cached_tokens, full_tokens;
    Generator g1(9), g2(9);
    gpt.generate(prompt, 20, {.temperature = 0.f}, g1, [&](int32_t t, std::span<const float> l) {
      cached_tokens.push_back(t);
      cached.emplace_back(l.begin(), l.end());
    });
    gpt.generate(prompt, 20, {.temperature = 0.f, .kv_cache = false}, g2, [&](int32_t t, std::span<const float> l) {
      full_tokens.push_back(t);
      full.emplace_back(l.begin(), l.end());
    });
    CHECK(cached_tokens == full_tokens);  // 20 > block: the window moved 15 times
    REQUIRE(cached.size() == full.size());
    // One position's GEMMs against the whole window's: the same sums (≤ 4·16 terms, |terms| ≲ 1) in
    // possibly different orders, through 2 layers.
    for (size_t i = 0; i < cached.size(); ++i) CHECK(max_diff(cached[i], full[i]) < 1e-5);
    // Sampling repeats with the seed, and the cache does not change what is drawn.
    Generator s1(3), s2(3), s3(4);
    const std::vector<int32_t> a = gpt.generate(prompt, 30, {.temperature = 1.f, .top_k = 5}, s1);
    const std::vector<int32_t> b = gpt.generate(prompt, 30, {.temperature = 1.f, .top_k = 5, .kv_cache = false}, s2);
    CHECK(a == b);
    CHECK(a != gpt.generate(prompt, 30, {.temperature = 1.f, .top_k = 5}, s3));
    CHECK(gpt.is_training());  // generate restores the mode
    // A prompt longer than the block uses its last `block` tokens.
    std::vector<int32_t> long_prompt(20, 4);
    long_prompt.insert(long_prompt.end(), {1, 2, 3});
    Generator l1(0), l2(0);
    const std::vector<int32_t> tail(long_prompt.end() - 8, long_prompt.end());
    CHECK(gpt.generate(long_prompt, 5, {.temperature = 0.f}, l1) == gpt.generate(tail, 5, {.temperature = 0.f}, l2));
    // Memory stays bounded however long it runs: once the window is full, what is live at each
    // token is the same (the caches of one window), token 100 or token 1500.
    int64_t lo = INT64_MAX, hi = 0, count = 0;
    gpt.generate(prompt, 1500, {}, l1, [&](int32_t, std::span<const float>) {
      if (++count < 100) return;
      const int64_t used = memory_stats().bytes_in_use;
      lo = std::min(lo, used);
      hi = std::max(hi, used);
    });
    CHECK(hi - lo <= 64 * 1024);
    CHECK_THROWS_WITH_AS(gpt.generate(std::vector<int32_t>{}, 1, {}, l1), doctest::Contains("empty"), Error);
    CHECK_THROWS_WITH_AS(gpt.generate(prompt, 1, {.temperature = -1.f}, l1), doctest::Contains("temperature"), Error);
    CHECK_THROWS_WITH_AS(gpt.generate(prompt, 1, {.top_k = 12}, l1), doctest::Contains("top_k must be in [0, 11]"),
                         Error);
    CHECK_THROWS_WITH_AS(gpt.generate(std::vector<int32_t>{11}, 1, {}, l1), doctest::Contains("prompt token 11"),
                         Error);
  }

  TEST_CASE("GPT::attention_maps: causal rows summing to 1, equal to softmax(q·kᵀ/√d) of each block's own q, k") {
    Generator gen(7);
    const int64_t t = 9, layers = 2, heads = 2, c = 16, d = c / heads;
    nn::GPT gpt({.vocab = 13, .block = 12, .layers = layers, .heads = heads, .embd = c}, gen);
    {
      // nanoGPT's init (weights of 0.02) gives nearly uniform attention; larger q, k make it peaked.
      NoGradGuard no_grad;
      for (int64_t l = 0; l < layers; ++l) {
        Tensor& w = static_cast<nn::TransformerBlock&>((*gpt.h)[static_cast<size_t>(l)]).attn->c_attn->weight;
        w.copy_(w * 40.f);
      }
    }
    std::vector<int32_t> ids;
    for (int64_t i = 0; i < t; ++i) ids.push_back(static_cast<int32_t>((i * 5 + 3) % 13));
    const Tensor idx = Tensor::from_vector(ids, {1, t});
    const Tensor maps = gpt.attention_maps(idx);
    REQUIRE(maps.shape() == Shape{layers, heads, t, t});
    CHECK(gpt.is_training());      // the mode it found is restored
    CHECK(!maps.requires_grad());  // nothing recorded
    const std::vector<float> got = maps.to_vector();
    const auto at = [&](int64_t l, int64_t h, int64_t i, int64_t j) {
      return got[static_cast<size_t>(((l * heads + h) * t + i) * t + j)];
    };
    // The same walk spelled out: each block's own q and k (from its c_attn of ln_1 of its input),
    // softmax in double. Float32 scores carry an error of at most d·eps·Σ|q_e·k_e|/√d; a softmax
    // weight moves by at most twice the largest score error (relative), plus its T-term sum's rounding.
    constexpr double eps = 0x1p-24;
    Tensor x = gpt.wte->forward(idx) + gpt.wpe->forward(Tensor::arange(0, t, 1, {.dtype = DType::int32}));
    double worst = 0, peak = 0;
    for (int64_t l = 0; l < layers; ++l) {
      auto& block = static_cast<nn::TransformerBlock&>((*gpt.h)[static_cast<size_t>(l)]);
      const std::vector<float> qkv = block.attn->c_attn->forward(block.ln_1->forward(x)).to_vector();
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t i = 0; i < t; ++i) {
          const auto qk = [&](int64_t pos, int64_t part, int64_t e) {
            return static_cast<double>(qkv[static_cast<size_t>(pos * 3 * c + part * c + h * d + e)]);
          };
          std::vector<double> s(static_cast<size_t>(i + 1));
          double m = -INFINITY, total = 0, score_error = 0, row = 0;
          for (int64_t j = 0; j <= i; ++j) {
            double magnitude = 0;
            for (int64_t e = 0; e < d; ++e) {
              s[static_cast<size_t>(j)] += qk(i, 0, e) * qk(j, 1, e);
              magnitude += std::abs(qk(i, 0, e) * qk(j, 1, e));
            }
            s[static_cast<size_t>(j)] /= std::sqrt(static_cast<double>(d));
            score_error = std::max(score_error, (d + 2) * eps * magnitude / std::sqrt(static_cast<double>(d)));
            m = std::max(m, s[static_cast<size_t>(j)]);
          }
          for (double& v : s) total += v = std::exp(v - m);
          const double tolerance = 2 * score_error + 4 * (t + d) * eps;
          for (int64_t j = 0; j < t; ++j) {
            if (j > i) {
              CHECK(at(l, h, i, j) == 0.f);  // exactly: exp(−∞) is 0
              continue;
            }
            const double want = s[static_cast<size_t>(j)] / total;
            CHECK(std::abs(at(l, h, i, j) - want) <= tolerance);
            worst = std::max(worst, std::abs(at(l, h, i, j) - want));
            peak = std::max(peak, i > 0 ? want : 0.0);
            row += at(l, h, i, j);
          }
          CHECK(std::abs(row - 1) <= 2 * t * eps);
        }
      x = block.forward(x);
    }
    INFO("largest difference ", worst);
    CHECK(peak > 0.9);  // the test is not about uniform rows: some weights are peaked
    CHECK_THROWS_WITH_AS(gpt.attention_maps(Tensor::from_vector(std::vector<int32_t>(13, 1), {1, 13})),
                         doctest::Contains("1 <= T <= 12"), Error);
    CHECK_THROWS_AS(gpt.attention_maps(Tensor::from_vector(std::vector<int32_t>(4, 1), {2, 2})), Error);
  }

  TEST_CASE("sample_token: greedy at temperature 0, only the top k drawn, frequencies follow the softmax") {
    const std::vector<float> logits = {0.f, 2.f, 1.f, 2.f, -1.f};
    Generator gen(1);
    CHECK(nn::sample_token(logits, 0.f, 0, gen) == 1);  // the first largest
    std::vector<int> counts(5);
    const int n = 20000;
    for (int i = 0; i < n; ++i) ++counts[static_cast<size_t>(nn::sample_token(logits, 1.f, 2, gen))];
    CHECK(counts[0] + counts[2] + counts[4] == 0);
    // Two equal logits: each half of the draws, within 5 standard deviations (√(n/4)).
    CHECK(std::abs(counts[1] - n / 2) < 5 * std::sqrt(n / 4.0));
    std::fill(counts.begin(), counts.end(), 0);
    for (int i = 0; i < n; ++i) ++counts[static_cast<size_t>(nn::sample_token(logits, 1.f, 0, gen))];
    double z = 0;
    for (float l : logits) z += std::exp(l);
    for (size_t i = 0; i < 5; ++i) {
      const double p = std::exp(logits[i]) / z;
      CHECK(std::abs(counts[i] - n * p) < 5 * std::sqrt(n * p * (1 - p)) + 1);
    }
  }

  TEST_CASE("TextDataset: sorted byte vocabulary, a 90/10 split and shifted windows from a seeded generator") {
    std::string text;
    for (int i = 0; i < 200; ++i) text += "hello world\n"[i % 12];
    const std::vector<uint8_t> bytes(text.begin(), text.end());
    data::TextDataset ds(bytes, "mem");
    CHECK(ds.vocabulary() == std::vector<uint8_t>{'\n', ' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w'});
    CHECK(ds.split_size(data::TextSplit::train) == 180);
    CHECK(ds.split_size(data::TextSplit::val) == 20);
    CHECK(ds.decode(ds.encode("hello")) == "hello");
    CHECK_THROWS_WITH_AS(ds.encode("hex"), doctest::Contains("byte 0x78 ('x') at position 2 is not in the vocabulary"),
                         Error);
    CHECK_THROWS_WITH_AS(ds.decode(std::vector<int32_t>{9}), doctest::Contains("token 9"), Error);
    Generator g1(7), g2(7);
    const auto [x, y] = ds.batch(data::TextSplit::val, 4, 6, g1);
    CHECK(x.shape() == Shape{4, 6});
    CHECK(x.dtype() == DType::int32);
    const std::vector<int32_t> xv = x.to_int_vector(), yv = y.to_int_vector();
    const std::string val = text.substr(180);
    for (int b = 0; b < 4; ++b) {
      for (int t = 0; t < 5; ++t) CHECK(yv[static_cast<size_t>(b * 6 + t)] == xv[static_cast<size_t>(b * 6 + t + 1)]);
      const std::string window = ds.decode(std::span(xv).subspan(static_cast<size_t>(b * 6), 6)) +
                                 ds.decode(std::span(yv).subspan(static_cast<size_t>(b * 6 + 5), 1));
      CHECK(val.find(window) != std::string::npos);  // a window of the validation split
    }
    CHECK(ds.batch(data::TextSplit::val, 4, 6, g2).first.to_int_vector() == xv);  // the same seed, the same batch
    ds.check_block(19);  // 20 validation bytes hold one window of 20
    CHECK_THROWS_WITH_AS(ds.check_block(20), doctest::Contains("validation split has 20 bytes"), Error);
    CHECK_THROWS_WITH_AS(ds.check_block(20), doctest::Contains("fewer than block + 1 = 21"), Error);
  }

  TEST_CASE("TextDataset refuses a missing, empty, directory, FIFO or device path, naming it") {
    TempDir dir;
    const std::string missing = dir.file("missing.txt"), empty = dir.file("empty.txt"), fifo = dir.file("fifo");
    std::ofstream(empty).close();
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    for (const std::string& path : {missing, empty, dir.path.string(), fifo, std::string("/dev/zero")}) {
      INFO(path);
      CHECK_THROWS_WITH_AS(data::TextDataset{path}, doctest::Contains(path.c_str()), Error);
    }
  }

  TEST_CASE("save_gpt and load_gpt round-trip the model, its config and its vocabulary") {
    TempDir dir;
    Generator gen(2);
    nn::GPT gpt({.vocab = 4, .block = 6, .layers = 1, .heads = 2, .embd = 8}, gen);
    const nn::Vocabulary vocab = {'\n', 'a', 'b', 0xc3};
    const std::string path = dir.file("gpt.safetensors");
    nn::save_gpt(path, gpt, vocab, {{"note", "kept"}});
    const nn::LoadedGPT back = nn::load_gpt(path);
    CHECK(back.vocabulary == vocab);
    CHECK(back.model->config().str() == gpt.config().str());
    const Tensor idx = Tensor::from_vector({0, 3, 1, 2}, {1, 4});
    CHECK((*back.model)(idx).to_vector() == gpt(idx).to_vector());
    CHECK(data::load_safetensors(path).metadata.at("note") == "kept");
    CHECK_THROWS_WITH_AS(nn::save_gpt(path, gpt, {'a'}), doctest::Contains("1 vocabulary bytes for a model of vocab 4"),
                         Error);
    // Not a GPT checkpoint (an MNIST model's has "format" and no gpt.config).
    const std::string other = dir.file("mlp.safetensors");
    nn::Linear lin(2, 2);
    data::save_safetensors(other, lin.state_dict(), {{"format", "minidl-checkpoint-v3"}});
    CHECK_THROWS_WITH_AS(nn::load_gpt(other), doctest::Contains((other + ": not a GPT checkpoint").c_str()), Error);
  }
}

// The acceptance check of the default GPT's training: from the same weights and batches as PyTorch,
// each of the first 20 steps' loss (warm-up lr, AdamW over the two decay groups, gradient norm
// clipped to 1) within 1e-4 relative of torch's (tests/reference/gpt_steps.h, from
// scripts/gen_gpt_steps_reference.py). The full-size model: 816,128 parameters, vocab 114.
TEST_CASE("the default GPT's first 20 AdamW steps: each loss within 1e-4 of PyTorch's from the same start") {
  namespace ref = gpt_reference;
  nn::GPT gpt({.vocab = ref::vocab, .block = ref::block, .layers = ref::layers, .heads = ref::heads, .embd = ref::embd});
  const std::vector<Tensor> params = gpt.parameters();
  REQUIRE(params.size() == ref::params.size());  // the tied head is wte, once, on both sides
  {
    NoGradGuard no_grad;
    for (size_t t = 0; t < params.size(); ++t) {
      const ref::Param& want = ref::params[t];
      INFO(want.name);
      REQUIRE(params[t].shape() == (want.cols ? Shape{want.rows, want.cols} : Shape{want.rows}));
      const std::string name(want.name);
      std::vector<float> v(static_cast<size_t>(params[t].numel()));
      for (size_t i = 0; i < v.size(); ++i)
        v[i] = static_cast<float>(ref::gpt_init_value(static_cast<int64_t>(t), static_cast<int64_t>(i), want.cols != 0,
                                                      name.ends_with("bias")));
      params[t].copy_(Tensor::from_vector(v, params[t].shape()));
    }
  }
  auto opt = optim::make_grouped<optim::AdamW>(gpt.optimizer_groups(static_cast<float>(ref::weight_decay)),
                                               {.lr = static_cast<float>(ref::lr), .betas = {0.9f, static_cast<float>(ref::beta2)},
                                                .eps = 1e-8f});
  const optim::WarmupCosineLR schedule(static_cast<float>(ref::lr), ref::warmup, 2000, 1e-4f);
  for (int64_t step = 0; step < ref::steps; ++step) {
    std::vector<int32_t> x, y;
    for (int32_t start : ref::starts[static_cast<size_t>(step)]) {
      x.insert(x.end(), ref::stream.begin() + start, ref::stream.begin() + start + ref::block);
      y.insert(y.end(), ref::stream.begin() + start + 1, ref::stream.begin() + start + 1 + ref::block);
    }
    // The lr as minidl train --model gpt's schedule gives it (warm-up: lr · (step + 1) / warmup).
    schedule.apply(*opt, static_cast<double>(step));
    const Tensor loss = nn::GPT::loss(gpt(Tensor::from_vector(x, {ref::batch, ref::block})),
                                      Tensor::from_vector(y, {ref::batch, ref::block}));
    opt->zero_grad();
    loss.backward();
    nn::clip_grad_norm(params, ref::clip);
    opt->step();
    INFO("step ", step);
    // 1e-4 relative is the bound. The loss is a mean of 768 cross-entropies of ~4.8, each
    // from sums of ≤ 512 float terms; reorderings move it by ~1e-6, and the steps before by less
    // than that each (Adam's update is ~lr per coordinate whatever the gradient's rounding).
    CHECK(loss.item() == doctest::Approx(ref::losses[static_cast<size_t>(step)]).epsilon(1e-4));
  }
}
