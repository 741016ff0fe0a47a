// The GEMM-bound time of a CNN training epoch: the matrix products of every convolution and linear
// layer of a model, as whole-batch GEMMs straight through cblas_sgemm on buffers of the step's
// shapes, for every batch of one epoch (60000 images). No im2col, pooling, activation or optimizer:
// an epoch cannot be faster than this with the same BLAS, and this time over the measured epoch is
// the training step's GEMM efficiency (scripts/bench-cnn).
//
// Per batch of B images, a convolution with O outputs, G groups, K = C·kh·kw column rows and
// L = out_h·out_w positions is, per group, one GEMM each way (docs/convolution.md):
//   forward   y  = W·col      [O/G, K/G]·[K/G, B·L]
//   backward  dW = dz·colᵀ    [O/G, B·L]·[B·L, K/G]      dcol = Wᵀ·dz   [K/G, O/G]·[O/G, B·L]
// and a linear layer the MLP's three (bench_gemm_bound.cpp). The first layer's input gradient is
// not needed (the input is data), so neither minidl nor this computes it.
//
//   build/examples/bench_cnn_gemm_bound [--model cnn|lenet|DESCRIPTION] [--threads N] [--batch B] [--reps R]
// prints one JSON line: {"model":…, "threads":…, "batch":…, "gemm_epoch_seconds": fastest of R, "gflop": …}
#include <cblas.h>
#include <minidl/minidl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <typeinfo>
#include <vector>

using namespace minidl;

namespace {

struct Gemm {
  bool ta, tb;
  int m, n, k;
  int groups = 1;
};

// The GEMMs of one training step over B images, read off the model's layers and the shapes that
// flow through them (a forward pass on one image finds the shapes).
std::vector<Gemm> step_gemms(nn::Sequential& model, const Shape& example, int batch) {
  std::vector<Gemm> gemms;
  Shape in = example;
  in.insert(0, 1);
  Tensor x = Tensor::zeros(in);
  NoGradGuard no_grad;
  model.eval();
  bool first = true;
  for (const auto& [name, child] : model.children()) {
    if (const auto* conv = dynamic_cast<const nn::Conv2d*>(child.get())) {
      const Tensor y = (*child)(x);
      const int g = static_cast<int>(conv->options().groups);
      const int o = static_cast<int>(conv->out_channels()) / g;
      const int k = static_cast<int>(conv->weight.numel() / conv->out_channels());  // (C/G)·kh·kw
      const int n = batch * static_cast<int>(y.size(2) * y.size(3));
      gemms.push_back({false, false, o, n, k, g});             // y = W·col
      gemms.push_back({false, true, o, k, n, g});              // dW = dz·colᵀ
      if (!first) gemms.push_back({true, false, k, n, o, g});  // dcol = Wᵀ·dz
      x = y;
      first = false;
    } else if (const auto* linear = dynamic_cast<const nn::Linear*>(child.get())) {
      const int i = static_cast<int>(linear->in_features()), o = static_cast<int>(linear->out_features());
      gemms.push_back({false, true, batch, o, i});               // y = x·Wᵀ
      gemms.push_back({true, false, o, i, batch});               // dW = dzᵀ·x
      if (!first) gemms.push_back({false, false, batch, i, o});  // dx = dz·W
      x = (*child)(x);
      first = false;
    } else {
      x = (*child)(x);
    }
  }
  return gemms;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_name = "cnn";
  int threads = 1, batch = 64, reps = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--model")
      model_name = value;
    else if (flag == "--threads")
      threads = std::atoi(value.c_str());
    else if (flag == "--batch")
      batch = std::atoi(value.c_str());
    else if (flag == "--reps")
      reps = std::atoi(value.c_str());
    else {
      std::fprintf(stderr, "bench_cnn_gemm_bound: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (threads < 1 || batch < 1 || reps < 1) {
    std::fprintf(stderr, "bench_cnn_gemm_bound: --threads, --batch and --reps must be >= 1\n");
    return 2;
  }
  const std::string named = nn::named_model_spec(model_name);
  const std::string spec = named.empty() ? model_name : named;
  set_num_threads(threads);  // the same knob minidl train --threads turns
  Generator gen(0);
  std::vector<Gemm> full, last;
  try {
    const auto model = nn::build_model(spec, {1, 28, 28}, gen);
    constexpr int kImages = 60000;
    full = step_gemms(*model, {1, 28, 28}, batch);
    if (kImages % batch) last = step_gemms(*model, {1, 28, 28}, kImages % batch);
  } catch (const Error& e) {
    std::fprintf(stderr, "bench_cnn_gemm_bound: %s\n", e.what());
    return 2;
  }
  // One buffer per operand, as large as the largest step's; every group's matrices lie side by side.
  size_t size_a = 0, size_b = 0, size_c = 0;
  for (const auto* list : {&full, &last})
    for (const Gemm& g : *list) {
      size_a = std::max(size_a, static_cast<size_t>(g.groups) * g.m * g.k);
      size_b = std::max(size_b, static_cast<size_t>(g.groups) * g.k * g.n);
      size_c = std::max(size_c, static_cast<size_t>(g.groups) * g.m * g.n);
    }
  std::vector<float> a(size_a, 0.01f), b(size_b, 0.02f), c(size_c);
  const auto run = [&](const std::vector<Gemm>& gemms) {
    for (const Gemm& g : gemms)
      for (int grp = 0; grp < g.groups; ++grp)
        cblas_sgemm(CblasRowMajor, g.ta ? CblasTrans : CblasNoTrans, g.tb ? CblasTrans : CblasNoTrans, g.m, g.n, g.k,
                    1.f, a.data() + static_cast<size_t>(grp) * g.m * g.k, g.ta ? g.m : g.k,
                    b.data() + static_cast<size_t>(grp) * g.k * g.n, g.tb ? g.k : g.n, 0.f,
                    c.data() + static_cast<size_t>(grp) * g.m * g.n, g.n);
  };
  double flop = 0;
  constexpr int kImages = 60000;
  const int batches = kImages / batch;
  for (const auto* list : {&full})
    for (const Gemm& g : *list) flop += 2.0 * g.m * g.n * g.k * g.groups * batches;
  for (const Gemm& g : last) flop += 2.0 * g.m * g.n * g.k * g.groups;
  const auto epoch = [&] {
    for (int i = 0; i < batches; ++i) run(full);
    run(last);
  };
  epoch();  // warm-up: OpenBLAS's buffers and threads
  std::vector<double> seconds;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    epoch();
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(seconds.begin(), seconds.end());
  std::printf(
      "{\"model\": \"%s\", \"threads\": %d, \"batch\": %d, \"gemm_epoch_seconds\": %.4f, \"gflop\": %.1f, "
      "\"gflops\": %.1f}\n",
      model_name.c_str(), threads, batch, seconds.front(), flop * 1e-9, flop / seconds.front() * 1e-9);
  return 0;
}
