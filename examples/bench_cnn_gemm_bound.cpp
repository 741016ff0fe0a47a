// The GEMM-bound time of a CNN training epoch: the matrix products of every convolution and linear
// layer of a model, straight through cblas_sgemm on buffers of the step's shapes, for every batch
// of one epoch (60000 images). No im2col, pooling, activation or optimizer: an epoch cannot be
// faster than this with the same BLAS, and this time over the measured epoch is the training
// step's GEMM efficiency (scripts/bench-cnn).
//
// Per batch of B images, a convolution with O outputs, G groups, K = C·kh·kw column rows and
// L = out_h·out_w positions is, per group, one GEMM each way (docs/convolution.md):
//   forward   y  = W·col      [O/G, K/G]·[K/G, B·L]
//   backward  dW = dz·colᵀ    [O/G, B·L]·[B·L, K/G]      dcol = Wᵀ·dz   [K/G, O/G]·[O/G, B·L]
// and a linear layer the MLP's three (bench_gemm_bound.cpp). The first layer's input gradient is
// not needed (the input is data), so neither minidl nor this computes it.
//
// Two ways to issue them:
//   default    whole-batch GEMMs (B·L columns), OpenBLAS threaded over --threads;
//   --chunked  the GEMMs minidl itself issues: a convolution's in chunks of images
//              (dispatch::conv2d_chunk_images), the chunks spread over the threads, each chunk's
//              GEMMs single-threaded, as in core/dispatch_conv.cpp; linear layers whole-batch.
//
//   build/examples/bench_cnn_gemm_bound [--model cnn|lenet|DESCRIPTION] [--threads N] [--batch B] [--reps R]
//                                       [--chunked]
// prints one JSON line: {"model":…, "threads":…, "batch":…, "chunked":…, "gemm_epoch_seconds": fastest of R,
// "gflop": …}
//
//   build/examples/bench_cnn_gemm_bound --train data/mnist [--every S] [--model …] [--threads N] [--batch B]
// times the GEMMs against the training itself, in one process: an epoch of MNIST training steps as
// minidl train takes them (nn::train_step, Nesterov lr 0.01, shuffled batches) in runs of S steps
// (default 100), each run followed by the same S steps' GEMMs alone, both ways. On a machine whose
// speed drifts (a shared one), runs seconds apart see the same machine, where separate programs
// minutes apart may not. Prints one JSON line: {"train_seconds":…, "gemm_chunked_seconds":…,
// "gemm_whole_seconds":…, "share_chunked":…, "efficiency":…} (each time summed over the epoch).
#include <cblas.h>
#include <minidl/minidl.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "core/dispatch.h"

using namespace minidl;

namespace {

struct Gemm {
  bool ta, tb;
  int m, n, k;
  int groups = 1;
};

// One layer's GEMMs in a step, as independent pieces of work (a convolution's chunks of images; a
// linear layer is one piece).
struct Stage {
  std::vector<std::vector<Gemm>> pieces;
};

// A convolution's GEMMs over cb images (`first`: no input gradient).
std::vector<Gemm> conv_gemms(int o, int k, int groups, int cb, int positions, bool first) {
  const int n = cb * positions;
  std::vector<Gemm> gemms{{false, false, o, n, k, groups},      // y = W·col
                          {false, true, o, k, n, groups}};      // dW = dz·colᵀ
  if (!first) gemms.push_back({true, false, k, n, o, groups});  // dcol = Wᵀ·dz
  return gemms;
}

// The GEMMs of one training step over B images, read off the model's layers and the shapes that
// flow through them (a forward pass on one image finds the shapes).
std::vector<Stage> step_stages(nn::Sequential& model, const Shape& example, int batch, bool chunked) {
  std::vector<Stage> stages;
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
      const int o = static_cast<int>(conv->out_channels());
      const int k = static_cast<int>(conv->weight.numel() / conv->out_channels()) * g;  // C·kh·kw
      const int positions = static_cast<int>(y.size(2) * y.size(3));
      const int nb =
          chunked ? static_cast<int>(dispatch::conv2d_chunk_images(Device::cpu(), int64_t{k + o} * positions, batch))
                  : batch;
      const int chunks = (batch + nb - 1) / nb;
      Stage s;
      for (int c = 0; c < chunks; ++c)  // the chunks dispatch::conv2d cuts: near-equal, in order
        s.pieces.push_back(
            conv_gemms(o / g, k / g, g, (c + 1) * batch / chunks - c * batch / chunks, positions, first));
      stages.push_back(std::move(s));
      x = y;
      first = false;
    } else if (const auto* linear = dynamic_cast<const nn::Linear*>(child.get())) {
      const int i = static_cast<int>(linear->in_features()), o = static_cast<int>(linear->out_features());
      std::vector<Gemm> gemms{{false, true, batch, o, i},        // y = x·Wᵀ
                              {true, false, o, i, batch}};       // dW = dzᵀ·x
      if (!first) gemms.push_back({false, false, batch, i, o});  // dx = dz·W
      stages.push_back({{gemms}});
      x = (*child)(x);
      first = false;
    } else {
      x = (*child)(x);
    }
  }
  return stages;
}

// Operand buffers for one thread, as large as the largest GEMM's; every group's matrices side by side.
struct Buffers {
  std::vector<float> a, b, c;
  explicit Buffers(const std::vector<const std::vector<Stage>*>& steps) {
    size_t size_a = 0, size_b = 0, size_c = 0;
    for (const auto* stages : steps)
      for (const Stage& s : *stages)
        for (const auto& piece : s.pieces)
          for (const Gemm& g : piece) {
            size_a = std::max(size_a, static_cast<size_t>(g.groups) * g.m * g.k);
            size_b = std::max(size_b, static_cast<size_t>(g.groups) * g.k * g.n);
            size_c = std::max(size_c, static_cast<size_t>(g.groups) * g.m * g.n);
          }
    a.assign(size_a, 0.01f), b.assign(size_b, 0.02f), c.assign(size_c, 0.f);
  }
};

void run(const std::vector<Gemm>& gemms, Buffers& buf) {
  for (const Gemm& g : gemms)
    for (int grp = 0; grp < g.groups; ++grp)
      cblas_sgemm(CblasRowMajor, g.ta ? CblasTrans : CblasNoTrans, g.tb ? CblasTrans : CblasNoTrans, g.m, g.n, g.k, 1.f,
                  buf.a.data() + static_cast<size_t>(grp) * g.m * g.k, g.ta ? g.m : g.k,
                  buf.b.data() + static_cast<size_t>(grp) * g.k * g.n, g.tb ? g.k : g.n, 0.f,
                  buf.c.data() + static_cast<size_t>(grp) * g.m * g.n, g.n);
}

// A step: a stage of several chunks runs them on up to `threads` threads at once (each chunk's GEMMs
// then single-threaded, as inside any parallel region), the others run OpenBLAS threaded.
void run_step(const std::vector<Stage>& stages, std::vector<Buffers>& buffers, int threads) {
  for (const Stage& s : stages) {
    const int pieces = static_cast<int>(s.pieces.size()), slots = std::min(threads, pieces);
    if (slots <= 1) {
      for (const auto& piece : s.pieces) run(piece, buffers[0]);
      continue;
    }
#pragma omp parallel for num_threads(slots) schedule(static)
    for (int p = 0; p < pieces; ++p)
      run(s.pieces[static_cast<size_t>(p)], buffers[static_cast<size_t>(omp_get_thread_num())]);
  }
}

double flop_of(const std::vector<Stage>& stages) {
  double flop = 0;
  for (const Stage& s : stages)
    for (const auto& piece : s.pieces)
      for (const Gemm& g : piece) flop += 2.0 * g.m * g.n * g.k * g.groups;
  return flop;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The --train mode: an epoch of real training steps, each run of `every` steps followed by its GEMMs
// alone, chunked (as minidl issues them) and whole-batch.
int train_and_compare(const std::string& spec, const std::string& dir, int threads, int batch, int every) {
  data::MNIST train(dir, data::Split::train);
  data::DataLoader loader(train, {.batch_size = batch, .shuffle = true, .seed = 1});
  Generator init(0), noise(1);
  const auto model = nn::build_model(spec, {1, 28, 28}, init, &noise);
  std::vector<Stage> stages[2], last[2];                    // [0]: chunked, [1]: whole-batch
  const int rest = static_cast<int>(train.size() % batch);  // the last batch's images
  for (int whole = 0; whole < 2; ++whole) {
    stages[whole] = step_stages(*model, {1, 28, 28}, batch, !whole);
    last[whole] = rest ? step_stages(*model, {1, 28, 28}, rest, !whole) : stages[whole];
  }
  std::vector<Buffers> buffers;
  for (int t = 0; t < threads; ++t)
    buffers.emplace_back(std::vector<const std::vector<Stage>*>{&stages[0], &stages[1], &last[0], &last[1]});
  optim::Nesterov opt(model->parameters(), {.lr = 0.01f, .momentum = 0.9f});
  model->train();
  for (int i = 0; i < 20; ++i) {  // warm-up: the allocator's cache, OpenBLAS's buffers and threads
    run_step(stages[0], buffers, threads);
    run_step(stages[1], buffers, threads);
  }
  double train_s = 0, gemm_s[2] = {0, 0};
  std::vector<int> sizes;  // the batch sizes of the run just trained
  const auto replay = [&] {
    for (int whole = 0; whole < 2; ++whole) {
      const auto t0 = std::chrono::steady_clock::now();
      for (const int size : sizes) run_step(size == batch ? stages[whole] : last[whole], buffers, threads);
      gemm_s[whole] += seconds_since(t0);
    }
    sizes.clear();
  };
  auto t0 = std::chrono::steady_clock::now();
  for (const data::Batch& b : loader) {
    nn::train_step(*model, opt, b.inputs.view({-1, 1, 28, 28}), b.targets);
    sizes.push_back(static_cast<int>(b.targets.numel()));
    if (static_cast<int>(sizes.size()) == every) {
      train_s += seconds_since(t0);
      replay();
      t0 = std::chrono::steady_clock::now();
    }
  }
  if (!sizes.empty()) {
    train_s += seconds_since(t0);
    replay();
  }
  std::printf(
      "{\"threads\": %d, \"batch\": %d, \"every\": %d, \"train_seconds\": %.4f, \"gemm_chunked_seconds\": %.4f, "
      "\"gemm_whole_seconds\": %.4f, \"share_chunked\": %.4f, \"efficiency\": %.4f}\n",
      threads, batch, every, train_s, gemm_s[0], gemm_s[1], gemm_s[0] / train_s, gemm_s[1] / train_s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_name = "cnn";
  int threads = 1, batch = 64, reps = 3, every = 100;
  bool chunked = false;
  std::string train_dir;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--chunked") {
      chunked = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "bench_cnn_gemm_bound: %s needs a value\n", flag.c_str());
      return 2;
    }
    const std::string value = argv[++i];
    if (flag == "--model")
      model_name = value;
    else if (flag == "--threads")
      threads = std::atoi(value.c_str());
    else if (flag == "--batch")
      batch = std::atoi(value.c_str());
    else if (flag == "--reps")
      reps = std::atoi(value.c_str());
    else if (flag == "--train")
      train_dir = value;
    else if (flag == "--every")
      every = std::atoi(value.c_str());
    else {
      std::fprintf(stderr, "bench_cnn_gemm_bound: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (threads < 1 || batch < 1 || reps < 1 || every < 1) {
    std::fprintf(stderr, "bench_cnn_gemm_bound: --threads, --batch, --reps and --every must be >= 1\n");
    return 2;
  }
  const std::string named = nn::named_model_spec(model_name);
  const std::string spec = named.empty() ? model_name : named;
  set_num_threads(threads);  // the same knob minidl train --threads turns
  if (!train_dir.empty()) {
    try {
      return train_and_compare(spec, train_dir, threads, batch, every);
    } catch (const Error& e) {
      std::fprintf(stderr, "bench_cnn_gemm_bound: %s\n", e.what());
      return 2;
    }
  }
  Generator gen(0);
  constexpr int kImages = 60000;
  std::vector<Stage> full, last;
  try {
    const auto model = nn::build_model(spec, {1, 28, 28}, gen);
    full = step_stages(*model, {1, 28, 28}, batch, chunked);
    if (kImages % batch) last = step_stages(*model, {1, 28, 28}, kImages % batch, chunked);
  } catch (const Error& e) {
    std::fprintf(stderr, "bench_cnn_gemm_bound: %s\n", e.what());
    return 2;
  }
  std::vector<Buffers> buffers;
  for (int t = 0; t < threads; ++t) buffers.emplace_back(std::vector<const std::vector<Stage>*>{&full, &last});
  const int batches = kImages / batch;
  const double flop = flop_of(full) * batches + flop_of(last);
  const auto epoch = [&] {
    for (int i = 0; i < batches; ++i) run_step(full, buffers, threads);
    run_step(last, buffers, threads);
  };
  for (int i = 0; i < 50; ++i) run_step(full, buffers, threads);  // warm-up: OpenBLAS's buffers and threads
  std::vector<double> seconds;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    epoch();
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(seconds.begin(), seconds.end());
  std::printf(
      "{\"model\": \"%s\", \"threads\": %d, \"batch\": %d, \"chunked\": %s, \"gemm_epoch_seconds\": %.4f, "
      "\"gflop\": %.1f, \"gflops\": %.1f}\n",
      model_name.c_str(), threads, batch, chunked ? "true" : "false", seconds.front(), flop * 1e-9,
      flop / seconds.front() * 1e-9);
  return 0;
}
