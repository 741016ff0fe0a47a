// Cross-entropy fused with its softmax, one row of logits x (length c) per example
// (math::cross_entropy_row): loss_n = m + log Σ_j e^(x_j − m) − x_t,   m = max_j x_j.
// Fused so that e^x never overflows and the backward is one subtraction:
//   d loss / d x_j = (softmax(x)_j − 1[j = t]) · dloss / n      (the mean over n rows)
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/parallel.h"
#include "kernels/reduce_math.h"
#include "kernels/softmax_math.h"

namespace minidl::kernels::cpu {

void cross_entropy_forward(float* loss, float* probs, const float* logits, const int32_t* targets, int64_t n,
                           int64_t c) {
  double total = 0.0;
  for (int64_t r = 0; r < n; ++r)  // rows are short (10 classes): threads would cost more than they save
    total += math::cross_entropy_row(probs + r * c, logits + r * c, c, targets[r]);
  *loss = static_cast<float>(total / static_cast<double>(n));
}

void cross_entropy_backward(float* dlogits, const float* probs, const int32_t* targets, const float* dloss, int64_t n,
                            int64_t c) {
  const float scale = *dloss / static_cast<float>(n);
  parallel_for(n, c, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      for (int64_t j = 0; j < c; ++j)
        dlogits[r * c + j] = math::cross_entropy_grad(probs[r * c + j], j == targets[r], scale);
    }
  });
}

}  // namespace minidl::kernels::cpu
