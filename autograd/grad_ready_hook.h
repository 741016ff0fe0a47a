// A hook on a leaf's final gradient. While a GradReadyHook is alive, every backward() on its thread
// calls it once for each leaf that requires grad and that the pass reaches, as soon as that leaf's
// gradient for the pass is final — every node that could still add to it has run — instead of when
// the whole pass ends (PyTorch: Tensor.register_post_accumulate_grad_hook).
//
//   autograd::GradReadyHook hook([&](const Tensor& leaf) { start_sending(leaf.grad()); });
//   loss.backward();   // the hook runs between nodes, while the rest of the pass is still to come
//
// What it is for: work on a gradient that can start while backward() goes on. distributed::DataParallel
// all-reduces buckets of gradients across ranks as they fill, so communication overlaps the rest
// of the backward pass; an optimizer could update each parameter and free its gradient as soon as
// it is final (lower peak memory); gradients could be copied off a GPU, or measured, one by one.
#pragma once

#include <functional>
#include <span>

#include <minidl/core/tensor.h>

namespace minidl::autograd {

class GradReadyHook {
 public:
  /// `fn(leaf)`: leaf.grad() holds the leaf's gradient, accumulated as always (it includes earlier
  /// passes' unless zero_grad() cleared them), or is undefined when no gradient reached the leaf
  /// (a parameter that the loss does not depend on). The hook may read or replace leaf.grad() and
  /// start work on it; it must not call backward(), nor create or destroy a GradReadyHook.
  ///
  /// Order: leaves become final in the order the pass finishes with them, which is the reverse of
  /// their last use in the forward pass — the same on every run of the same model. Each leaf is
  /// reported once per pass, however many ops used it. Several hooks run in the order they were
  /// made. Installed per thread (the thread that makes it, which must also destroy it): backward()
  /// runs on the calling thread.
  explicit GradReadyHook(std::function<void(const Tensor& leaf)> fn);
  ~GradReadyHook();
  GradReadyHook(const GradReadyHook&) = delete;
  GradReadyHook& operator=(const GradReadyHook&) = delete;

  void operator()(const Tensor& leaf) const { fn_(leaf); }

  /// The hooks alive on this thread, oldest first (what the engine calls).
  static std::span<GradReadyHook* const> active();

 private:
  std::function<void(const Tensor&)> fn_;
};

}  // namespace minidl::autograd
