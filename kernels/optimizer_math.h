// The update of one parameter element by each built-in optimizer's fused step: torch.optim.SGD in
// the three settings minidl names as optimizers (optim/sgd.h, optim/momentum.h, optim/nesterov.h),
// and Adam/AdamW, RMSprop and Adagrad (optim/adam.h, adamw.h, rmsprop.h, adagrad.h). One definition
// each, `__host__ __device__`, run by the CPU kernel and the CUDA kernel, so the backends cannot
// drift apart; the CPU tests run them. Each optimizer's header states its math; the SGD family's,
// with g the gradient, b the momentum buffer, μ momentum, τ dampening, wd weight decay:
//
//   g ← grad + wd·p                               (coupled weight decay)
//   b ← g            on the parameter's first step
//   b ← μ·b + (1 − τ)·g                           afterwards
//   d ← g + μ·b      Nesterov
//   d ← b            momentum
//   d ← g            plain SGD (no buffer)
//   p ← p − lr·d
#pragma once

#include <cmath>
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

/// One parameter tensor of an adaptive optimizer's fused step: p, grad and up to three state slots
/// (the optimizer's, in its order; null where an option leaves one out), n contiguous elements
/// each, and the scalars that depend on this parameter's own step count (math::adam_scalars,
/// math::adagrad_step_size), computed once per tensor on the host.
struct OptimTensor {
  float* param;
  const float* grad;
  float* state[3];
  int64_t n;
  float step_size;   // Adam: lr / (1 − β1^t); Adagrad: lr / (1 + (t − 1)·lr_decay); RMSprop: unused
  float correction;  // Adam: √(1 − β2^t); otherwise unused
};

struct AdamHyper {
  float lr = 0.f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.f;
  float one_minus_beta1 = 0.1f, one_minus_beta2 = 0.001f;
  float decay = 1.f;  // AdamW: 1 − lr·λ
  bool amsgrad = false, decoupled = false;
};

struct RMSpropHyper {
  float lr = 0.f, alpha = 0.99f, one_minus_alpha = 0.01f, eps = 1e-8f, weight_decay = 0.f, momentum = 0.f;
};

struct AdagradHyper {
  float lr = 0.f, lr_decay = 0.f, weight_decay = 0.f, eps = 1e-10f;
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
/// start[count] the total. Small enough to pass by value as a kernel argument. T is a tensor
/// descriptor with a member n (SgdTensor, OptimTensor).
template <class T>
struct TensorChunk {
  static constexpr int kPerLaunch = 16;
  T tensors[kPerLaunch];
  int64_t start[kPerLaunch + 1];
  int count;
};
using SgdChunk = TensorChunk<SgdTensor>;

template <class T>
inline TensorChunk<T> make_chunk(const T* tensors, int64_t count) {
  TensorChunk<T> c{};
  c.count = static_cast<int>(count < TensorChunk<T>::kPerLaunch ? count : TensorChunk<T>::kPerLaunch);
  c.start[0] = 0;
  for (int k = 0; k < c.count; ++k) {
    c.tensors[k] = tensors[k];
    c.start[k + 1] = c.start[k] + tensors[k].n;
  }
  return c;
}
inline SgdChunk make_sgd_chunk(const SgdTensor* tensors, int64_t count) { return make_chunk(tensors, count); }

/// The tensor holding flat element i (< start[count]), searching forward from tensor `hint`: a
/// thread's elements only increase, so it passes its previous answer and never scans from 0 again.
/// Empty tensors are skipped.
template <class T>
MINIDL_HD inline int chunk_tensor(const TensorChunk<T>& c, int64_t i, int hint) {
  int k = hint;
  while (i >= c.start[k + 1]) ++k;
  return k;
}
MINIDL_HD inline int sgd_chunk_tensor(const SgdChunk& c, int64_t i, int hint) { return chunk_tensor(c, i, hint); }

// ---- the adaptive optimizers. Hyperparameters arrive as floats computed the way torch computes
// them (in double, in Python, then rounded once): 1 − β1 is one_minus_beta1, not 1.f − beta1.

/// Adam's per-tensor scalars for this parameter's step t (its own count, as torch keeps one per
/// parameter): step_size = lr / (1 − β1^t), correction = √(1 − β2^t).
MINIDL_HD inline void adam_scalars(const AdamHyper& h, int64_t t, float& step_size, float& correction) {
  const double bc1 = 1.0 - ::pow(static_cast<double>(h.beta1), static_cast<double>(t));
  const double bc2 = 1.0 - ::pow(static_cast<double>(h.beta2), static_cast<double>(t));
  step_size = static_cast<float>(static_cast<double>(h.lr) / bc1);
  correction = static_cast<float>(::sqrt(bc2));
}

/// torch.optim.Adam (decoupled = false) and AdamW (decoupled = true), one element. vmax: amsgrad's
/// running maximum of v, or null.
MINIDL_HD inline void adam_update(float& p, float grad, float& m, float& v, float* vmax, const AdamHyper& h,
                                  float step_size, float correction) {
  float g = grad;
  if (h.decoupled)
    p = p * h.decay;  // p = p·(1 − lr·λ)
  else if (h.weight_decay != 0.f)
    g = g + h.weight_decay * p;                   // g = grad + λ·p
  m = m * h.beta1 + h.one_minus_beta1 * g;        // m = β1·m + (1 − β1)·g
  v = v * h.beta2 + h.one_minus_beta2 * (g * g);  // v = β2·v + (1 − β2)·g²
  float second = v;
  if (vmax) {
    *vmax = *vmax > v ? *vmax : v;  // v_max = max(v_max, v)
    second = *vmax;
  }
  const float denom = ::sqrtf(second) / correction + h.eps;  // √v̂ + eps, v̂ = v / (1 − β2^t)
  p = p + -step_size * (m / denom);                          // p = p − lr/(1 − β1^t) · m / denom
}

/// torch.optim.RMSprop, one element. buffer: the momentum buffer (null: momentum = 0); grad_avg:
/// the centered variant's running mean of g (null: not centered).
MINIDL_HD inline void rmsprop_update(float& p, float grad, float& square_avg, float* buffer, float* grad_avg,
                                     const RMSpropHyper& h) {
  const float g = h.weight_decay != 0.f ? grad + h.weight_decay * p : grad;  // g = grad + λ·p
  square_avg = square_avg * h.alpha + h.one_minus_alpha * (g * g);           // v = α·v + (1 − α)·g²
  float avg;
  if (grad_avg) {
    *grad_avg = *grad_avg * h.alpha + h.one_minus_alpha * g;             // ḡ = α·ḡ + (1 − α)·g
    avg = ::sqrtf(square_avg + -1.f * (*grad_avg * *grad_avg)) + h.eps;  // √(v − ḡ²) + eps
  } else {
    avg = ::sqrtf(square_avg) + h.eps;  // √v + eps
  }
  if (buffer) {
    *buffer = *buffer * h.momentum + g / avg;  // b = μ·b + g / avg
    p = p + -h.lr * *buffer;                   // p = p − lr·b
  } else {
    p = p + -h.lr * (g / avg);  // p = p − lr·g / avg
  }
}

/// Adagrad's per-tensor step size for this parameter's step t: clr = lr / (1 + (t − 1)·lr_decay).
MINIDL_HD inline float adagrad_step_size(const AdagradHyper& h, int64_t t) {
  return static_cast<float>(static_cast<double>(h.lr) /
                            (1.0 + static_cast<double>(t - 1) * static_cast<double>(h.lr_decay)));
}

/// torch.optim.Adagrad, one element.
MINIDL_HD inline void adagrad_update(float& p, float grad, float& sum, const AdagradHyper& h, float step_size) {
  const float g = h.weight_decay != 0.f ? grad + h.weight_decay * p : grad;  // g = grad + λ·p
  sum = sum + g * g;                                                         // s = s + g²
  const float std = ::sqrtf(sum) + h.eps;
  p = p + -step_size * (g / std);  // p = p − clr·g / (√s + eps)
}

}  // namespace math
}  // namespace minidl::kernels
