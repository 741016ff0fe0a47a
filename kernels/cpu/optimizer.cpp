// The fused optimizer steps: every parameter of a group updated in one pass over p, grad and the
// optimizer's state, instead of one pass per term of the update (kernels/optimizer_math.h).
// Every branch of an update (weight decay or not, amsgrad, centered, …) is fixed for a whole call:
// decided once, outside the loop, so the loop body is straight-line arithmetic that vectorizes.
// NOTE: this file is compiled with -fno-math-errno (CMakeLists.txt), or g++ would keep
// sqrtf a scalar call for the sake of errno and no adaptive loop would vectorize.
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/parallel.h"

namespace minidl::kernels::cpu {

namespace {

// The tensors are laid end to end and the threads split that range: small tensors (biases) cost
// no fork of their own. body(tensor, begin, end) runs on one tensor's elements [begin, end).
template <class T, class Body>
void over_tensors(const T* tensors, int64_t count, int64_t work_per_element, Body&& body) {
  int64_t total = 0;
  for (int64_t k = 0; k < count; ++k) total += tensors[k].n;
  parallel_for(total, work_per_element, [&](int64_t begin, int64_t end) {
    int64_t base = 0;
    for (int64_t k = 0; k < count && base < end; base += tensors[k].n, ++k) {
      const T& t = tensors[k];
      const int64_t lo = std::max(begin, base) - base, hi = std::min(end, base + t.n) - base;
      if (lo < hi) body(t, lo, hi);
    }
  });
}

template <bool kBuffer, bool kFirst, bool kDecay, bool kNesterov>
void sgd_update(const SgdTensor& t, int64_t begin, int64_t end, SgdHyper h) {
  if constexpr (!kDecay) h.weight_decay = 0.f;
  h.nesterov = kNesterov;
  float* __restrict p = t.param;
  const float* __restrict g = t.grad;
  float* __restrict b = t.buffer;
  for (int64_t i = begin; i < end; ++i) math::sgd_update(p[i], g[i], kBuffer ? b + i : nullptr, kFirst, h);
}

template <bool kBuffer, bool kFirst>
void sgd_update(const SgdTensor& t, int64_t begin, int64_t end, const SgdHyper& h) {
  const bool decay = h.weight_decay != 0.f;
  if (decay && h.nesterov) return sgd_update<kBuffer, kFirst, true, true>(t, begin, end, h);
  if (decay) return sgd_update<kBuffer, kFirst, true, false>(t, begin, end, h);
  if (h.nesterov) return sgd_update<kBuffer, kFirst, false, true>(t, begin, end, h);
  sgd_update<kBuffer, kFirst, false, false>(t, begin, end, h);
}

template <bool kAmsgrad, bool kDecoupled, bool kDecay>
void adam_update(const OptimTensor& t, int64_t begin, int64_t end, AdamHyper h) {
  h.amsgrad = kAmsgrad, h.decoupled = kDecoupled;
  if constexpr (!kDecay) h.weight_decay = 0.f, h.decay = 1.f;
  float* __restrict p = t.param;
  const float* __restrict g = t.grad;
  float* __restrict m = t.state[0];
  float* __restrict v = t.state[1];
  float* __restrict vmax = t.state[2];
  const float step_size = t.step_size, correction = t.correction;
  for (int64_t i = begin; i < end; ++i)
    math::adam_update(p[i], g[i], m[i], v[i], kAmsgrad ? vmax + i : nullptr, h, step_size, correction);
}

template <bool kMomentum, bool kCentered, bool kDecay>
void rmsprop_update(const OptimTensor& t, int64_t begin, int64_t end, RMSpropHyper h) {
  if constexpr (!kDecay) h.weight_decay = 0.f;
  float* __restrict p = t.param;
  const float* __restrict g = t.grad;
  float* __restrict sq = t.state[0];
  float* __restrict b = t.state[1];
  float* __restrict avg = t.state[2];
  for (int64_t i = begin; i < end; ++i)
    math::rmsprop_update(p[i], g[i], sq[i], kMomentum ? b + i : nullptr, kCentered ? avg + i : nullptr, h);
}

template <bool kDecay>
void adagrad_update(const OptimTensor& t, int64_t begin, int64_t end, AdagradHyper h) {
  if constexpr (!kDecay) h.weight_decay = 0.f;
  float* __restrict p = t.param;
  const float* __restrict g = t.grad;
  float* __restrict s = t.state[0];
  const float step_size = t.step_size;
  for (int64_t i = begin; i < end; ++i) math::adagrad_update(p[i], g[i], s[i], h, step_size);
}

// Calls f(std::integral_constant<bool, b>) for a run-time b: turns a flag into a template argument.
template <class F>
void with_flag(bool b, F&& f) {
  if (b)
    f(std::true_type{});
  else
    f(std::false_type{});
}

}  // namespace

void sgd_step(const SgdTensor* tensors, int64_t count, const SgdHyper& h) {
  over_tensors(tensors, count, 4, [&](const SgdTensor& t, int64_t lo, int64_t hi) {
    if (!t.buffer)
      sgd_update<false, false>(t, lo, hi, h);
    else if (t.first)
      sgd_update<true, true>(t, lo, hi, h);
    else
      sgd_update<true, false>(t, lo, hi, h);
  });
}

void adam_step(const OptimTensor* tensors, int64_t count, const AdamHyper& h) {
  with_flag(h.amsgrad, [&](auto amsgrad) {
    with_flag(h.decoupled, [&](auto decoupled) {
      with_flag(h.weight_decay != 0.f, [&](auto decay) {
        over_tensors(tensors, count, 16, [&](const OptimTensor& t, int64_t lo, int64_t hi) {
          adam_update<amsgrad(), decoupled(), decay()>(t, lo, hi, h);
        });
      });
    });
  });
}

void rmsprop_step(const OptimTensor* tensors, int64_t count, const RMSpropHyper& h) {
  // Every tensor of a call has the same slots (the optimizer's options decide them).
  const bool momentum = count > 0 && tensors[0].state[1], centered = count > 0 && tensors[0].state[2];
  with_flag(momentum, [&](auto has_momentum) {
    with_flag(centered, [&](auto is_centered) {
      with_flag(h.weight_decay != 0.f, [&](auto decay) {
        over_tensors(tensors, count, 16, [&](const OptimTensor& t, int64_t lo, int64_t hi) {
          rmsprop_update<has_momentum(), is_centered(), decay()>(t, lo, hi, h);
        });
      });
    });
  });
}

void adagrad_step(const OptimTensor* tensors, int64_t count, const AdagradHyper& h) {
  with_flag(h.weight_decay != 0.f, [&](auto decay) {
    over_tensors(tensors, count, 16,
                 [&](const OptimTensor& t, int64_t lo, int64_t hi) { adagrad_update<decay()>(t, lo, hi, h); });
  });
}

}  // namespace minidl::kernels::cpu
