// The fused optimizer step: every parameter of a group updated in one pass over p, grad and the
// momentum buffer, instead of one pass per term of the update (kernels/optimizer_math.h).
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/parallel.h"

namespace minidl::kernels::cpu {

namespace {

// Every branch of the update is fixed for a whole tensor: decided once, outside the loop, so the
// loop body is straight-line arithmetic that vectorizes.
template <bool kBuffer, bool kFirst, bool kDecay, bool kNesterov>
void update(const SgdTensor& t, int64_t begin, int64_t end, SgdHyper h) {
  if constexpr (!kDecay) h.weight_decay = 0.f;
  h.nesterov = kNesterov;
  float* __restrict p = t.param;
  const float* __restrict g = t.grad;
  float* __restrict b = t.buffer;
  for (int64_t i = begin; i < end; ++i) math::sgd_update(p[i], g[i], kBuffer ? b + i : nullptr, kFirst, h);
}

template <bool kBuffer, bool kFirst>
void update(const SgdTensor& t, int64_t begin, int64_t end, const SgdHyper& h) {
  const bool decay = h.weight_decay != 0.f;
  if (decay && h.nesterov) return update<kBuffer, kFirst, true, true>(t, begin, end, h);
  if (decay) return update<kBuffer, kFirst, true, false>(t, begin, end, h);
  if (h.nesterov) return update<kBuffer, kFirst, false, true>(t, begin, end, h);
  update<kBuffer, kFirst, false, false>(t, begin, end, h);
}

}  // namespace

void sgd_step(const SgdTensor* tensors, int64_t count, const SgdHyper& h) {
  int64_t total = 0;
  for (int64_t k = 0; k < count; ++k) total += tensors[k].n;
  // The tensors are laid end to end and the threads split that range: small tensors (biases)
  // cost no fork of their own.
  constexpr int64_t kWorkPerElement = 4;
  parallel_for(total, kWorkPerElement, [&](int64_t begin, int64_t end) {
    int64_t base = 0;
    for (int64_t k = 0; k < count && base < end; base += tensors[k].n, ++k) {
      const SgdTensor& t = tensors[k];
      const int64_t lo = std::max(begin, base) - base, hi = std::min(end, base + t.n) - base;
      if (lo >= hi) continue;
      if (!t.buffer)
        update<false, false>(t, lo, hi, h);
      else if (t.first)
        update<true, true>(t, lo, hi, h);
      else
        update<true, false>(t, lo, hi, h);
    }
  });
}

}  // namespace minidl::kernels::cpu
