// The update of one parameter element by torch.optim.SGD, in the three settings minidl names as
// optimizers (optim/sgd.h, optim/momentum.h, optim/nesterov.h). One definition, `__host__
// __device__`, run by the CPU kernel now and the CUDA kernel later, so the backends cannot drift
// apart. With g the gradient, b the momentum buffer, μ momentum, τ dampening, wd weight decay:
//
//   g ← grad + wd·p                               (coupled weight decay)
//   b ← g            on the parameter's first step
//   b ← μ·b + (1 − τ)·g                           afterwards
//   d ← g + μ·b      Nesterov
//   d ← b            momentum
//   d ← g            plain SGD (no buffer)
//   p ← p − lr·d
#pragma once

#include <cstdint>

#include "kernels/host_device.h"

namespace minidl::kernels {

struct SgdHyper {
  float lr = 0.f;
  float weight_decay = 0.f;
  float momentum = 0.f;   // used only when the tensor has a buffer
  float dampening = 0.f;  // τ
  bool nesterov = false;
};

/// One parameter tensor of a fused step: n contiguous elements each of p, grad and (for momentum
/// and Nesterov) the buffer; `first` marks the buffer as not yet holding anything.
struct SgdTensor {
  float* param;
  const float* grad;
  float* buffer;  // null: plain SGD
  int64_t n;
  bool first;
};

namespace math {

MINIDL_HD inline void sgd_update(float& p, float grad, float* buffer, bool first, const SgdHyper& h) {
  float g = h.weight_decay != 0.f ? grad + h.weight_decay * p : grad;
  if (buffer) {
    const float b = first ? g : h.momentum * *buffer + (1.f - h.dampening) * g;
    *buffer = b;
    g = h.nesterov ? g + h.momentum * b : b;
  }
  p = p + -h.lr * g;
}

/// Up to kPerLaunch tensors of one step seen as one flat array, for a GPU launch whose threads each
/// take elements of the concatenation: start[k] is the flat index of tensor k's first element and
/// start[count] the total. Small enough to pass by value as a kernel argument.
struct SgdChunk {
  static constexpr int kPerLaunch = 16;
  SgdTensor tensors[kPerLaunch];
  int64_t start[kPerLaunch + 1];
  int count;
};

inline SgdChunk make_sgd_chunk(const SgdTensor* tensors, int64_t count) {
  SgdChunk c{};
  c.count = static_cast<int>(count < SgdChunk::kPerLaunch ? count : SgdChunk::kPerLaunch);
  c.start[0] = 0;
  for (int k = 0; k < c.count; ++k) {
    c.tensors[k] = tensors[k];
    c.start[k + 1] = c.start[k] + tensors[k].n;
  }
  return c;
}

/// The tensor holding flat element i (< start[count]), searching forward from tensor `hint`: a
/// thread's elements only increase, so it passes its previous answer and never scans from 0 again.
/// Empty tensors are skipped.
MINIDL_HD inline int sgd_chunk_tensor(const SgdChunk& c, int64_t i, int hint) {
  int k = hint;
  while (i >= c.start[k + 1]) ++k;
  return k;
}

}  // namespace math
}  // namespace minidl::kernels
