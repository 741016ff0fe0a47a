// The registry of GradReadyHooks, per thread. The engine only counts the uses of each leaf when a
// hook is installed, so a backward() without hooks costs nothing more.
#include "autograd/grad_ready_hook.h"

#include <algorithm>
#include <vector>

namespace minidl::autograd {

namespace {
thread_local std::vector<GradReadyHook*> hooks;
}

GradReadyHook::GradReadyHook(std::function<void(const Tensor& leaf)> fn) : fn_(std::move(fn)) {
  check(static_cast<bool>(fn_), "GradReadyHook: needs a function");
  hooks.push_back(this);
}

GradReadyHook::~GradReadyHook() { hooks.erase(std::find(hooks.begin(), hooks.end(), this)); }

std::span<GradReadyHook* const> GradReadyHook::active() { return hooks; }

}  // namespace minidl::autograd
