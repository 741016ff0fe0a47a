// One training step of the reference character-level GPT (../shared/bench/pytorch_char_gpt.py's
// recipe), written with the public functional API exactly as the PyTorch reference spells it, and
// timed: the minidl side of scripts/bench-lm-ops' whole-step line, and the program to profile when
// the step's ops change. Random tokens (the step's cost does not depend on the text); AdamW with
// the reference's two groups (decay on 2-D weights only), clipping to norm 1.
//
// Per step, B = batch, T = block, C = embd, H = heads, D = C/H, V = vocab:
//   x = wte[idx] + wpe[0..T)                                         [B, T, C]
//   per layer: x += proj(sdpa(split(qkv(ln1(x))), causal)); x += fc_proj(gelu(fc(ln2(x))))
//   loss = cross_entropy(ln_f(x)·wteᵀ, targets); backward; clip_grad_norm(1); AdamW step
//
//   build/examples/bench_gpt_step [--steps 60] [--threads 1] [--layers 4] [--heads 4] [--embd 128]
//                                 [--block 64] [--batch 12] [--vocab 114] [--packed 1]
// --packed 0 spells the attention out as the reference does (split, view, transpose, sdpa, merge)
// instead of F::self_attention on the packed projection.
// prints one JSON line: {"step_ms_median": …, "step_cpu_ms_median": …, "steps": …, "peak_rss_mib": …, "loss": …}
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <minidl/minidl.h>

using namespace minidl;
namespace F = minidl::nn::functional;

namespace {

// CPU seconds of this process: on a loaded machine a step's CPU time varies far less than its wall
// time (with 1 thread they are equal on an idle one).
double cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return 1e3 * static_cast<double>(ts.tv_sec) + 1e-6 * static_cast<double>(ts.tv_nsec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Config {
  int steps = 60, threads = 1, layers = 4, heads = 4, embd = 128, block = 64, batch = 12, vocab = 114;
  int packed = 1;  // 1: F::self_attention on the qkv projection; 0: split, view, transpose, sdpa, merge
};

struct Layer {
  Tensor ln1_w, ln1_b, qkv_w, qkv_b, proj_w, proj_b, ln2_w, ln2_b, fc_w, fc_b, fc_proj_w, fc_proj_b;
};

struct Model {
  Config c;
  Tensor wte, wpe, lnf_w, lnf_b;
  std::vector<Layer> layers;

  Model(const Config& config, Generator& gen) : c(config) {
    const auto normal = [&](Shape s, float std) {
      Tensor t = Tensor::randn(std::move(s), gen);
      t.mul_(std);
      return t.set_requires_grad();
    };
    const auto fill = [](int64_t n, float v) { return Tensor::full({n}, v, {.requires_grad = true}); };
    const int64_t C = c.embd;
    const float out_std = 0.02f / std::sqrt(2.f * static_cast<float>(c.layers));
    wte = normal({c.vocab, C}, 0.02f);
    wpe = normal({c.block, C}, 0.02f);
    for (int l = 0; l < c.layers; ++l)
      layers.push_back({fill(C, 1.f), fill(C, 0.f), normal({3 * C, C}, 0.02f), fill(3 * C, 0.f),
                        normal({C, C}, out_std), fill(C, 0.f), fill(C, 1.f), fill(C, 0.f), normal({4 * C, C}, 0.02f),
                        fill(4 * C, 0.f), normal({C, 4 * C}, out_std), fill(C, 0.f)});
    lnf_w = fill(C, 1.f);
    lnf_b = fill(C, 0.f);
  }

  // The reference's groups: 2-D weights decay, the rest (biases, layer norms) do not.
  void params(std::vector<Tensor>& decay, std::vector<Tensor>& no_decay) const {
    decay = {wte, wpe};
    no_decay = {};
    for (const Layer& l : layers) {
      decay.insert(decay.end(), {l.qkv_w, l.proj_w, l.fc_w, l.fc_proj_w});
      no_decay.insert(no_decay.end(), {l.ln1_w, l.ln1_b, l.qkv_b, l.proj_b, l.ln2_w, l.ln2_b, l.fc_b, l.fc_proj_b});
    }
    no_decay.insert(no_decay.end(), {lnf_w, lnf_b});
  }

  Tensor attention(const Layer& l, const Tensor& h) const {
    const int64_t B = h.size(0), T = h.size(1), C = c.embd, H = c.heads;
    if (c.packed) return F::linear(F::self_attention(F::linear(h, l.qkv_w, l.qkv_b), H, true), l.proj_w, l.proj_b);
    std::vector<Tensor> qkv = split(F::linear(h, l.qkv_w, l.qkv_b), C, 2);
    for (Tensor& t : qkv) t = t.view({B, T, H, C / H}).transpose(1, 2);
    const Tensor y = F::scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], true);
    return F::linear(y.transpose(1, 2).reshape({B, T, C}), l.proj_w, l.proj_b);
  }

  Tensor loss(const Tensor& idx, const Tensor& targets, const Tensor& pos) const {
    const int64_t C = c.embd;
    Tensor x = F::embedding(idx, wte) + F::embedding(pos, wpe);
    for (const Layer& l : layers) {
      x = x + attention(l, F::layer_norm(x, {C}, l.ln1_w, l.ln1_b));
      const Tensor h = F::linear(F::layer_norm(x, {C}, l.ln2_w, l.ln2_b), l.fc_w, l.fc_b, F::Activation::gelu);
      x = x + F::linear(h, l.fc_proj_w, l.fc_proj_b);
    }
    const Tensor logits = F::linear(F::layer_norm(x, {C}, lnf_w, lnf_b), wte, Tensor{});
    return F::cross_entropy(logits.reshape({-1, c.vocab}), targets.reshape({-1}));
  }
};

bool parse(int argc, char** argv, Config& c) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const int value = std::atoi(argv[i + 1]);
    int* field = flag == "--steps"    ? &c.steps
                 : flag == "--threads" ? &c.threads
                 : flag == "--layers"  ? &c.layers
                 : flag == "--heads"   ? &c.heads
                 : flag == "--embd"    ? &c.embd
                 : flag == "--block"   ? &c.block
                 : flag == "--batch"   ? &c.batch
                 : flag == "--vocab"   ? &c.vocab
                 : flag == "--packed"  ? &c.packed
                                       : nullptr;
    if (!field || value < (field == &c.packed ? 0 : 1)) {
      std::fprintf(stderr, "bench_gpt_step: bad flag or value: %s %s\n", argv[i], argv[i + 1]);
      return false;
    }
    *field = value;
  }
  if (argc % 2 == 0 || c.embd % c.heads != 0) {
    std::fprintf(stderr, "bench_gpt_step: flags come in pairs, and heads must divide embd\n");
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  if (!parse(argc, argv, c)) return 2;
  set_num_threads(c.threads);
  Generator gen(1337);
  Model model(c, gen);
  std::vector<Tensor> decay, no_decay;
  model.params(decay, no_decay);
  optim::AdamW opt(decay, {.lr = 1e-3f, .betas = {0.9f, 0.99f}, .eps = 1e-8f, .weight_decay = 0.1f});
  opt.add_param_group({.params = no_decay, .lr = 1e-3f, .weight_decay = 0.f});
  std::vector<Tensor> all = decay;
  all.insert(all.end(), no_decay.begin(), no_decay.end());
  std::vector<int32_t> pos_v(static_cast<size_t>(c.block));
  for (int t = 0; t < c.block; ++t) pos_v[static_cast<size_t>(t)] = t;
  const Tensor pos = Tensor::from_vector(pos_v, {c.block});

  std::vector<double> ms, cpu;
  float last = 0.f;
  for (int step = 0; step < c.steps + 10; ++step) {
    std::vector<int32_t> tokens(static_cast<size_t>(c.batch) * (c.block + 1));
    for (int32_t& v : tokens) v = static_cast<int32_t>(gen.next_u64() % static_cast<uint64_t>(c.vocab));
    std::vector<int32_t> in, out;
    for (int b = 0; b < c.batch; ++b) {
      const auto row = tokens.begin() + b * (c.block + 1);
      in.insert(in.end(), row, row + c.block);
      out.insert(out.end(), row + 1, row + 1 + c.block);
    }
    const Tensor idx = Tensor::from_vector(in, {c.batch, c.block}), targets = Tensor::from_vector(out, {c.batch, c.block});
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_ms();
    const Tensor loss = model.loss(idx, targets, pos);
    opt.zero_grad();
    loss.backward();
    nn::clip_grad_norm(all, 1.0);
    opt.step();
    last = loss.item();
    const double dt = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (step >= 10) {  // the first 10 warm caches and the allocator, as the reference skips them
      ms.push_back(dt);
      cpu.push_back(cpu_ms() - c0);
    }
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf(
      "{\"step_ms_median\": %.3f, \"step_cpu_ms_median\": %.3f, \"steps\": %d, \"peak_rss_mib\": %.1f, "
      "\"loss\": %.5f}\n",
      median(ms), median(cpu), c.steps, static_cast<double>(ru.ru_maxrss) / 1024.0, last);
  return 0;
}
