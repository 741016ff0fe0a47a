// Grad mode: whether ops record themselves on the tape. Off inside a NoGradGuard (evaluation,
// optimizer updates) and while backward() runs, so backward closures never record. It lives in
// core because in-place updates (Tensor::add_ …) consult it too.
#pragma once

namespace minidl {

bool is_grad_enabled();  // per thread; on by default
void set_grad_enabled(bool enabled);

/// Turns recording off for its scope: { NoGradGuard g; auto logits = model(x); }
class NoGradGuard {
 public:
  NoGradGuard() : previous_(is_grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace minidl
