// Lowering of the optimizers' fused steps (optim/*.cpp call these through core/dispatch.h): each
// takes one group's parameters with their gradients and state slots, checks them, and hands the
// backend one descriptor per tensor in one call; the per-element math is kernels/optimizer_math.h,
// shared by kernels/cpu/optimizer.cpp and kernels/cuda/optimizer.cu. Like core/dispatch.cpp:
// validate, allocate nothing once warm, call the backend of the operands' device.
#include <utility>
#include <vector>

#include "core/dispatch.h"
#include "core/dispatch_util.h"
#include "kernels/optimizer_math.h"

namespace minidl::dispatch {

namespace {

// Checks every slot, then hands the backend one descriptor per tensor (made by describe(slot,
// param, grad)) in one call. Non-contiguous parameters are updated in a copy and written back. The
// step writes the parameters and their state in place: a graph that saved one must know
// (bump_version, core/dispatch_util.h), as with every in-place write in core/dispatch.cpp.
template <class Tensors, class Describe, class Launch>
void fused_step(std::span<const OptimSlot> slots, Tensors& tensors, const char* op, Describe&& describe,
                Launch&& launch) {
  tensors.clear();
  std::vector<std::pair<Tensor, Tensor>> write_back;  // non-contiguous parameters: (parameter, copy)
  for (size_t i = 0; i < slots.size(); ++i) {
    const OptimSlot& s = slots[i];
    check_float(s.param, op);
    check_float(s.grad, op);
    check(s.grad.shape() == s.param.shape(), op, ": gradient of shape ", s.grad.shape(), " for parameter ", i,
          " of shape ", s.param.shape());
    check_same_device(s.param, s.grad, op);
    for (const Tensor& state : s.state) {
      if (!state.defined()) continue;
      check(state.shape() == s.param.shape() && state.is_contiguous() && state.dtype() == DType::float32, op,
            ": state of shape ", state.shape(), " for parameter ", i, " of shape ", s.param.shape());
      check_same_device(s.param, state, op);
    }
    if (slots.front().param.device() != s.param.device())
      fail(op, ": parameters on ", slots.front().param.device(), " and ", s.param.device(), " in one step");
  }
  for (const OptimSlot& s : slots) {
    Tensor p = s.param;
    if (!p.is_contiguous()) {
      write_back.emplace_back(s.param, copy(s.param));
      p = write_back.back().second;
    }
    const Tensor g = contiguous(s.grad);
    tensors.push_back(describe(s, ptr<float>(p), ptr<float>(g), p.numel()));
    if (!g.shares_storage(s.grad)) write_back.emplace_back(Tensor{}, g);  // keeps the copy alive
  }
  for (const OptimSlot& s : slots) {  // in-place writes: a graph that saved one of these must know
    bump_version(s.param);
    for (const Tensor& state : s.state)
      if (state.defined()) bump_version(state);
  }
  if (!slots.empty()) launch(backend(slots.front().param), tensors.data(), static_cast<int64_t>(tensors.size()));
  for (const auto& [param, updated] : write_back)
    if (param.defined()) copy_into(param, updated, op);
}

kernels::OptimTensor optim_tensor(const OptimSlot& s, float* p, const float* g, int64_t n) {
  return {p, g, {ptr<float>(s.state[0]), ptr<float>(s.state[1]), ptr<float>(s.state[2])}, n, 0.f, 0.f};
}

}  // namespace

void sgd_step(std::span<const OptimSlot> slots, const kernels::SgdHyper& hyper, const char* op) {
  // Kept between calls (per thread): a step allocates nothing once this has grown.
  static thread_local std::vector<kernels::SgdTensor> tensors;
  fused_step(
      slots, tensors, op,
      [](const OptimSlot& s, float* p, const float* g, int64_t n) {
        return kernels::SgdTensor{p, g, ptr<float>(s.state[0]), n, s.first};
      },
      [&](const kernels::Backend& b, const kernels::SgdTensor* t, int64_t count) { b.sgd_step(t, count, hyper); });
}

void adam_step(std::span<const OptimSlot> slots, const kernels::AdamHyper& hyper, const char* op) {
  static thread_local std::vector<kernels::OptimTensor> tensors;
  for (const OptimSlot& s : slots)
    check(s.state[0].defined() && s.state[1].defined() && s.state[2].defined() == hyper.amsgrad, op,
          ": needs exp_avg, exp_avg_sq", hyper.amsgrad ? " and max_exp_avg_sq" : "", " for every parameter");
  fused_step(
      slots, tensors, op,
      [&](const OptimSlot& s, float* p, const float* g, int64_t n) {
        kernels::OptimTensor t = optim_tensor(s, p, g, n);
        kernels::math::adam_scalars(hyper, s.step, t.step_size, t.correction);
        return t;
      },
      [&](const kernels::Backend& b, const kernels::OptimTensor* t, int64_t count) { b.adam_step(t, count, hyper); });
}

void rmsprop_step(std::span<const OptimSlot> slots, const kernels::RMSpropHyper& hyper, const char* op) {
  static thread_local std::vector<kernels::OptimTensor> tensors;
  for (const OptimSlot& s : slots)
    check(s.state[0].defined() && s.state[1].defined() == slots.front().state[1].defined() &&
              s.state[2].defined() == slots.front().state[2].defined(),
          op, ": every parameter needs square_avg and the same optional slots");
  fused_step(
      slots, tensors, op,
      [](const OptimSlot& s, float* p, const float* g, int64_t n) { return optim_tensor(s, p, g, n); },
      [&](const kernels::Backend& b, const kernels::OptimTensor* t, int64_t count) {
        b.rmsprop_step(t, count, hyper);
      });
}

void adagrad_step(std::span<const OptimSlot> slots, const kernels::AdagradHyper& hyper, const char* op) {
  static thread_local std::vector<kernels::OptimTensor> tensors;
  for (const OptimSlot& s : slots) check(s.state[0].defined(), op, ": needs sum for every parameter");
  fused_step(
      slots, tensors, op,
      [&](const OptimSlot& s, float* p, const float* g, int64_t n) {
        kernels::OptimTensor t = optim_tensor(s, p, g, n);
        t.step_size = kernels::math::adagrad_step_size(hyper, s.step);
        return t;
      },
      [&](const kernels::Backend& b, const kernels::OptimTensor* t, int64_t count) {
        b.adagrad_step(t, count, hyper);
      });
}

}  // namespace minidl::dispatch
