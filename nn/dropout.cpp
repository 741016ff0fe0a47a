// dropout, the op, and the Dropout layer: y = x ⊙ mask, with mask = 1/(1 − p) where kept and 0
// where dropped, and its gradient dy ⊙ mask.
#include "nn/dropout.h"

#include "autograd/elementwise.h"
#include "autograd/node.h"
#include "core/dispatch.h"
#include "nn/functional.h"

namespace minidl::nn {

namespace functional {

Tensor dropout(const Tensor& x, float p, bool training, Generator& gen) {
  dispatch::check_float(x, "dropout");
  check(p >= 0.f && p < 1.f, "dropout: p must be in [0, 1), got ", p, " (input ", x.shape(), ")");
  if (!training || p == 0.f) return x;
  // y = x ⊙ mask;  dx = dy ⊙ mask. Recorded as one "dropout" op that saves its mask (rather than
  // as a mul by a constant), so the tape, and minidl graph, show what it is.
  const Tensor mask = dispatch::dropout_mask(x.shape(), x.device(), p, gen.next_u64());
  Tensor y;
  {
    NoGradGuard no_grad;
    y = x * mask;
  }
  autograd::record("dropout", y, {x}, autograd::Saves{mask},
                   [mask](const Tensor& dy) { return autograd::Grads{dy * mask}; });
  return y;
}

}  // namespace functional

Dropout::Dropout(float p) : Dropout(p, default_generator()) {}

Dropout::Dropout(float p, Generator& gen) : p_(p), gen_(&gen) {
  check(p >= 0.f && p < 1.f, "Dropout: p must be in [0, 1), got ", p);
}

Tensor Dropout::forward(const Tensor& x) { return functional::dropout(x, p_, is_training(), *gen_); }

std::string Dropout::extra_repr() const { return str_cat("p=", p_, ", inplace=False"); }

}  // namespace minidl::nn
