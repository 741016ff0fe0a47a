// The GEMM-bound time of an MNIST training epoch: only the matrix products that minidl's training
// step runs, called straight through cblas_sgemm on buffers of the step's shapes, for every batch of
// one epoch (60000 images). An epoch cannot be faster than this with the same BLAS; the ratio of
// this time to the measured epoch time is the step's GEMM efficiency (scripts/bench-mnist).
//
// Per batch of B images, MLP 784-H-10 (W1 [H, 784], W2 [10, H], weights in PyTorch's [out, in]):
//   forward   h  = x·W1ᵀ   [B, H]      logits = h·W2ᵀ [B, 10]
//   backward  dW2 = dzᵀ·h  [10, H]     dh = dz·W2 [B, H]     dW1 = dz1ᵀ·x [H, 784]
// 2·B·(784·H + H·10) FLOP forward and 2·B·(H·10 + H·10 + 784·H) backward: 818,176 per image at
// H = 256. The input gradient x's (dz1·W1) is not needed, so neither minidl nor this computes it.
//
//   build/examples/bench_gemm_bound [--threads N] [--batch B] [--hidden H] [--reps R]
// prints one JSON line: {"threads":…, "batch":…, "gemm_epoch_seconds": the fastest of R reps, "gflops": …}
#include <cblas.h>
#include <minidl/minidl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

void gemm(bool ta, bool tb, int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.f, a, lda, b,
              ldb, 0.f, c, n);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, batch = 64, hidden = 256, reps = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const int value = std::atoi(argv[i + 1]);
    if (flag == "--threads")
      threads = value;
    else if (flag == "--batch")
      batch = value;
    else if (flag == "--hidden")
      hidden = value;
    else if (flag == "--reps")
      reps = value;
    else {
      std::fprintf(stderr, "bench_gemm_bound: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (threads < 1 || batch < 1 || hidden < 1 || reps < 1) {
    std::fprintf(stderr, "bench_gemm_bound: --threads, --batch, --hidden and --reps must be >= 1\n");
    return 2;
  }
  minidl::set_num_threads(threads);  // the same knob minidl train --threads turns
  constexpr int kImages = 60000, kIn = 784, kOut = 10;
  const int H = hidden;
  std::vector<float> x(static_cast<size_t>(batch) * kIn, 0.5f), w1(static_cast<size_t>(H) * kIn, 0.01f),
      w2(static_cast<size_t>(kOut) * H, 0.01f), h(static_cast<size_t>(batch) * H),
      logits(static_cast<size_t>(batch) * kOut), dz(static_cast<size_t>(batch) * kOut, 0.1f),
      dh(static_cast<size_t>(batch) * H), dw2(w2.size()), dw1(w1.size());
  const auto step = [&](int b) {
    gemm(false, true, b, H, kIn, x.data(), kIn, w1.data(), kIn, h.data());     // h = x·W1ᵀ
    gemm(false, true, b, kOut, H, h.data(), H, w2.data(), H, logits.data());   // logits = h·W2ᵀ
    gemm(true, false, kOut, H, b, dz.data(), kOut, h.data(), H, dw2.data());   // dW2 = dzᵀ·h
    gemm(false, false, b, H, kOut, dz.data(), kOut, w2.data(), H, dh.data());  // dh = dz·W2
    gemm(true, false, H, kIn, b, dh.data(), H, x.data(), kIn, dw1.data());     // dW1 = dhᵀ·x
  };
  const auto epoch = [&] {
    for (int done = 0; done < kImages; done += batch) step(std::min(batch, kImages - done));
  };
  epoch();  // warm-up: OpenBLAS's buffers and threads
  std::vector<double> seconds;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    epoch();
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(seconds.begin(), seconds.end());
  const double best = seconds.front();  // the limit: the fastest of the reps
  const double flop = 2.0 * kImages * (2.0 * kIn * H + 3.0 * H * kOut);
  std::printf("{\"threads\": %d, \"batch\": %d, \"hidden\": %d, \"gemm_epoch_seconds\": %.5f, \"gflops\": %.1f}\n",
              threads, batch, H, best, flop / best * 1e-9);
  return 0;
}
