// The ops a language model adds to nn::functional: embedding, layer_norm, gelu, silu, and
// cross_entropy with ignore_index and label smoothing. docs/language-models.md derives the
// backwards of embedding and layer norm.
#include <minidl/autograd/compare.h>
#include <minidl/autograd/elementwise.h>
#include <minidl/autograd/index.h>
#include <minidl/autograd/reduce.h>
#include <minidl/autograd/softmax.h>

#include "autograd/node.h"
#include "core/dispatch.h"
#include "nn/functional.h"

namespace minidl::nn::functional {

using autograd::Grads;
using autograd::record;
using autograd::Saves;
using dispatch::BinaryOp;
using dispatch::UnaryOp;

// out[…, :] = weight[indices[…], :];  dweight[v, :] = Σ_{positions p : indices[p] = v} dout[p, :]
// (index_select along dim 0, whose backward is that scatter-add).
Tensor embedding(const Tensor& indices, const Tensor& weight) {
  dispatch::check_float(weight, "embedding");
  dispatch::check_defined(indices, "embedding");
  check(weight.dim() == 2, "embedding: weight must be [num_embeddings, dim], got ", weight.shape());
  check(indices.dtype() == DType::int32, "embedding: indices must be int32, got ", indices.dtype(), " ",
        indices.shape());
  dispatch::check_same_device(indices, weight, "embedding");
  dispatch::check_indices(indices, weight.shape()[0], "embedding", "index");  // so the error names this op
  Shape shape = indices.shape();
  shape.push_back(weight.shape()[1]);
  return index_select(weight, 0, indices.reshape({-1})).reshape(shape);
}

// y = x̂·w + b, x̂ = (x − μ)·rstd;  dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·w,
// dw = Σ dy·x̂, db = Σ dy (kernels/layer_norm_math.h)
Tensor layer_norm(const Tensor& x, std::vector<int64_t> normalized_shape, const Tensor& weight, const Tensor& bias,
                  float eps) {
  dispatch::check_float(x, "layer_norm");
  const Shape norm(normalized_shape);
  bool fits = norm.size() >= 1 && norm.size() <= x.dim();
  for (int d = 1; fits && d <= norm.size(); ++d) fits = norm[norm.size() - d] == x.shape()[x.dim() - d];
  check(fits, "layer_norm: normalized_shape ", norm, " is not the trailing shape of x ", x.shape());
  for (const Tensor* p : {&weight, &bias})
    check(!p->defined() || p->shape() == norm, "layer_norm: weight/bias of shape ", p->shape(),
          " for normalized_shape ", norm);
  auto r = dispatch::layer_norm(x, norm.numel(), weight, bias, eps, "layer_norm");
  record("layer_norm", r.y, {x, weight, bias}, Saves{x, weight, r.mean, r.rstd},
         [x, weight, bias, mean = r.mean, rstd = r.rstd](const Tensor& dy) {
           auto g = dispatch::layer_norm_backward(dy, x, weight, mean, rstd, x.requires_grad(),
                                                  weight.defined() && weight.requires_grad(),
                                                  bias.defined() && bias.requires_grad());
           return Grads{g.dx, g.dweight, g.dbias.defined() ? g.dbias.reshape(bias.shape()) : Tensor{}};
         });
  return r.y;
}

// y = x·Φ(x);  dx = dy·(Φ(x) + x·φ(x))      (tanh form: kernels/elementwise_math.h, GeluTanh)
Tensor gelu(const Tensor& x, bool tanh_approximation) {
  Tensor y = dispatch::unary(tanh_approximation ? UnaryOp::gelu_tanh : UnaryOp::gelu, x, "gelu");
  record("gelu", y, {x}, Saves{x}, [x, tanh_approximation](const Tensor& dy) {
    return Grads{
        dispatch::binary(tanh_approximation ? BinaryOp::gelu_tanh_backward : BinaryOp::gelu_backward, x, dy, "gelu")};
  });
  return y;
}

// y = x·σ(x);  dx = dy·σ(x)(1 + x(1 − σ(x)))
Tensor silu(const Tensor& x) {
  Tensor y = dispatch::unary(UnaryOp::silu, x, "silu");
  record("silu", y, {x}, Saves{x},
         [x](const Tensor& dy) { return Grads{dispatch::binary(BinaryOp::silu_backward, x, dy, "silu")}; });
  return y;
}

// Without options it is the fused kernel (nn/functional.cpp). With them, composed from recorded
// ops, so the gradient comes for free:
//   logp = log_softmax(logits);  nll_r = −logp[r, t_r];  smooth_r = −mean_c logp[r, c]
//   loss = Σ_r keep_r·((1 − ε)·nll_r + ε·smooth_r) / Σ_r keep_r,   keep_r = 1[t_r ≠ ignore_index]
Tensor cross_entropy(const Tensor& logits_in, const Tensor& targets_in, CrossEntropyOptions options) {
  dispatch::check_float(logits_in, "cross_entropy");
  dispatch::check_defined(targets_in, "cross_entropy");
  check(options.label_smoothing >= 0.f && options.label_smoothing <= 1.f,
        "cross_entropy: label_smoothing must be in [0, 1], got ", options.label_smoothing);
  check(logits_in.dim() == targets_in.dim() + 1 && (logits_in.dim() == 2 || logits_in.dim() == 3),
        "cross_entropy: ", "expected logits [N, C] with targets [N], or [N, T, C] with [N, T]; got ", logits_in.shape(),
        " and ", targets_in.shape());
  const int64_t c = logits_in.size(-1);
  const Tensor logits = logits_in.reshape({-1, c}), targets = targets_in.reshape({-1});
  check(targets.dtype() == DType::int32 && targets.shape()[0] == logits.shape()[0], "cross_entropy: targets ",
        targets_in.dtype(), " ", targets_in.shape(), " do not match logits ", logits_in.shape());
  // Ignored rows read class 0 instead (any valid index) and are then weighted out.
  std::vector<int32_t> t = targets.to_int_vector();
  std::vector<float> keep(t.size());
  bool any_ignored = false;
  for (size_t r = 0; r < t.size(); ++r) {
    keep[r] = t[r] == options.ignore_index ? 0.f : 1.f;
    any_ignored = any_ignored || !keep[r];
    if (!keep[r]) t[r] = 0;
    check(t[r] >= 0 && t[r] < c, "cross_entropy: target ", t[r], " at position ", r, " is out of range [0, ", c, ")");
  }
  if (!any_ignored && options.label_smoothing == 0.f) return cross_entropy(logits, targets);
  const Device dev = logits.device();
  const Tensor index = Tensor::from_vector(t, {static_cast<int64_t>(t.size()), 1}).to(dev);
  const Tensor weights = Tensor::from_vector(std::move(keep), {static_cast<int64_t>(t.size())}).to(dev);
  const Tensor logp = log_softmax(logits, 1);
  const float eps = options.label_smoothing;
  Tensor per_row = -gather(logp, 1, index).reshape({-1}) * (1.f - eps);
  if (eps > 0.f) per_row = per_row - mean(logp, 1) * eps;
  return sum(per_row * weights) / sum(weights);
}

}  // namespace minidl::nn::functional
