// How close each optimizer's fused step comes to the memory traffic it cannot avoid. Over the
// default MLP's parameters (784-256-10, 203,530 floats) with fixed random gradients, it times
// optimizer.step() against one read+write pass over the same arrays: every array the step reads
// (parameters, gradients, state slots) read once and every array it writes (parameters, state)
// written once, with a multiply-add, on the same threads. A fused step has no other work than that
// pass plus its arithmetic (a square root and a division per element for the adaptive ones), so
// step / pass is how much the arithmetic and the bookkeeping cost: ≤ 1.5 is the goal.
//
//   build/examples/bench_optimizer_step [--reps 200] [--threads N]
//
// Prints a markdown table: per optimizer, the state it keeps, the median step and pass times,
// both as GB/s of that traffic, and their ratio.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <minidl/minidl.h>

using namespace minidl;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The pass a fused step cannot beat: for each tensor, read g and every written array, write them.
void read_write_pass(const std::vector<std::vector<float*>>& written, const std::vector<const float*>& grads,
                     const std::vector<int64_t>& sizes, float scale) {
  int64_t total = 0;
  for (int64_t n : sizes) total += n;
#pragma omp parallel
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t begin = total * t / nt, end = total * (t + 1) / nt;
    int64_t base = 0;
    for (size_t k = 0; k < sizes.size(); base += sizes[k], ++k) {
      const int64_t lo = std::max(begin, base) - base, hi = std::min(end, base + sizes[k]) - base;
      if (lo >= hi) continue;
      const float* __restrict g = grads[k];
      float* __restrict a = written[k][0];  // one loop over all the arrays: each element of g read once
      float* __restrict b = written[k].size() > 1 ? written[k][1] : nullptr;
      float* __restrict c = written[k].size() > 2 ? written[k][2] : nullptr;
      float* __restrict d = written[k].size() > 3 ? written[k][3] : nullptr;
      switch (written[k].size()) {
        case 1:
          for (int64_t i = lo; i < hi; ++i) a[i] += scale * g[i];
          break;
        case 2:
          for (int64_t i = lo; i < hi; ++i) a[i] += scale * g[i], b[i] += scale * g[i];
          break;
        case 3:
          for (int64_t i = lo; i < hi; ++i) a[i] += scale * g[i], b[i] += scale * g[i], c[i] += scale * g[i];
          break;
        default:
          for (int64_t i = lo; i < hi; ++i)
            a[i] += scale * g[i], b[i] += scale * g[i], c[i] += scale * g[i], d[i] += scale * g[i];
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 200, threads = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--reps")) reps = std::max(3, std::atoi(argv[i + 1]));
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
  }
  if (threads > 0) set_num_threads(threads);
  struct Case {
    const char* label;
    const char* name;
    optim::OptionValues options;
  };
  const Case cases[] = {
      {"sgd", "sgd", {}},
      {"momentum", "momentum", {}},
      {"nesterov", "nesterov", {}},
      {"adam", "adam", {}},
      {"adam amsgrad", "adam", {{"amsgrad", "true"}}},
      {"adamw", "adamw", {}},
      {"rmsprop", "rmsprop", {}},
      {"rmsprop centered momentum", "rmsprop", {{"centered", "true"}, {"momentum", "0.9"}}},
      {"adagrad", "adagrad", {}},
  };
  std::printf("fused optimizer step over the default MLP's %s parameters, %d threads, median of %d\n\n", "203,530",
              num_threads(), reps);
  std::printf(
      "| optimizer | state | step (µs) | read+write pass (µs) | step GB/s | pass GB/s | step / pass |\n"
      "|---|---|---|---|---|---|---|\n");
  for (const Case& c : cases) {
    Generator gen(0);
    const auto model = nn::mlp(784, {256}, 10, gen);
    std::vector<Tensor> params = model->parameters();
    Generator noise(1);
    for (Tensor& p : params) p.set_grad(Tensor::randn(p.shape(), noise) * 0.01f);
    const auto opt = optim::make_optimizer(c.name, params, {.lr = 1e-4f, .options = c.options});
    opt->step();  // creates the state
    std::vector<std::vector<float*>> written;
    std::vector<const float*> grads;
    std::vector<int64_t> sizes;
    int64_t arrays_read = 0, arrays_written = 0;
    for (size_t i = 0; i < params.size(); ++i) {
      std::vector<float*> w = {params[i].data<float>()};
      for (const std::string& slot : opt->state_names())
        if (Tensor s = opt->state(slot, static_cast<int64_t>(i)); s.defined()) w.push_back(s.data<float>());
      grads.push_back(params[i].grad().data<float>());
      sizes.push_back(params[i].numel());
      if (i == 0) arrays_written = static_cast<int64_t>(w.size()), arrays_read = arrays_written + 1;  // + the gradient
      written.push_back(std::move(w));
    }
    int64_t n = 0;
    for (int64_t s : sizes) n += s;
    const double bytes = static_cast<double>(n) * 4.0 * static_cast<double>(arrays_read + arrays_written);
    std::vector<double> step_times, pass_times;
    for (int r = 0; r < reps; ++r) {  // alternated, so both see the same machine
      auto start = std::chrono::steady_clock::now();
      opt->step();
      step_times.push_back(seconds_since(start));
      start = std::chrono::steady_clock::now();
      read_write_pass(written, grads, sizes, 1e-12f);
      pass_times.push_back(seconds_since(start));
    }
    const double step = median(step_times), pass = median(pass_times);
    std::string state;
    for (const std::string& slot : opt->state_names()) state += (state.empty() ? "" : ", ") + slot;
    std::printf("| %s | %s | %.1f | %.1f | %.1f | %.1f | %.2f |\n", c.label, state.empty() ? "–" : state.c_str(),
                step * 1e6, pass * 1e6, bytes / step / 1e9, bytes / pass / 1e9, step / pass);
  }
  return 0;
}
