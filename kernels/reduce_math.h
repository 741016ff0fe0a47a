// Per-element math of the reductions and the fused cross-entropy that more than one backend runs,
// `__host__ __device__` under nvcc: a GPU reduction combines partial results in a tree, so its rule
// for "which maximum wins" must be an associative function rather than a loop's if-statement.
#pragma once

#include <cstdint>

#include "kernels/host_device.h"

namespace minidl::kernels::math {

/// A candidate maximum and its position along the reduced dimension.
struct MaxArg {
  float value;
  int32_t index;
};

/// The winner of two candidates, as PyTorch's max/argmax pick it: NaN beats every number (the first
/// NaN wins), otherwise the larger value, and between equal values the smaller index. Associative
/// and commutative, so any reduction tree gives the answer of a left-to-right scan.
MINIDL_HD constexpr MaxArg max_combine(MaxArg a, MaxArg b) {
  const bool a_nan = a.value != a.value, b_nan = b.value != b.value;
  if (a_nan != b_nan) return a_nan ? a : b;
  if (!a_nan && a.value != b.value) return a.value > b.value ? a : b;
  return a.index <= b.index ? a : b;
}

/// d loss / d logit for a softmax probability p: (p − 1[target]) · scale, with scale = dloss / n,
/// written as the CPU kernel computes it (p·scale, then −scale at the target) so both round alike.
MINIDL_HD constexpr float cross_entropy_grad(float p, bool is_target, float scale) {
  const float g = p * scale;
  return is_target ? g - scale : g;
}

}  // namespace minidl::kernels::math
