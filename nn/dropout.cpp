// dropout, the op, and the Dropout layer. A composite: y = x ⊙ mask, with mask = 1/(1 − p) where
// kept and 0 where dropped, so its gradient dy ⊙ mask comes from mul's backward.
#include "nn/dropout.h"

#include "autograd/elementwise.h"
#include "core/dispatch.h"
#include "nn/functional.h"

namespace minidl::nn {

namespace functional {

Tensor dropout(const Tensor& x, float p, bool training, Generator& gen) {
  dispatch::check_float(x, "dropout");
  check(p >= 0.f && p < 1.f, "dropout: p must be in [0, 1), got ", p, " (input ", x.shape(), ")");
  if (!training || p == 0.f) return x;
  return x * dispatch::dropout_mask(x.shape(), x.device(), p, gen.next_u64());
}

}  // namespace functional

Dropout::Dropout(float p) : Dropout(p, default_generator()) {}

Dropout::Dropout(float p, Generator& gen) : p_(p), gen_(&gen) {
  check(p >= 0.f && p < 1.f, "Dropout: p must be in [0, 1), got ", p);
}

Tensor Dropout::forward(const Tensor& x) { return functional::dropout(x, p_, is_training(), *gen_); }

std::string Dropout::extra_repr() const { return str_cat("p=", p_, ", inplace=False"); }

}  // namespace minidl::nn
