// Lowering from tensors to kernels: shapes and strides become kernels::*Layout and GemmOperand
// descriptions, collapsed (coalesce) to the fewest dimensions, and the backend of the operands'
// device runs them. Empty tensors return before reaching a kernel.
#include "core/dispatch.h"

#include <climits>
#include <cstring>

#include "core/dispatch_util.h"

namespace minidl::dispatch {

using kernels::BinaryLayout;
using kernels::CopyLayout;
using kernels::GemmOperand;

namespace {

// Every function here that writes into a tensor it did not just make calls bump_version
// (core/dispatch_util.h).
Tensor new_like(const Shape& shape, const Tensor& like, DType dtype = DType::float32) {
  return new_tensor(shape, like.device(), dtype);
}

// outer · reduce · inner of a contiguous tensor seen around `dim`.
struct Around {
  int64_t outer = 1, reduce = 1, inner = 1;
};
Around around(const Shape& s, int dim) {
  Around a;
  for (int d = 0; d < s.size(); ++d) (d < dim ? a.outer : d == dim ? a.reduce : a.inner) *= s[d];
  return a;
}

Shape reduced_shape(const Shape& s, int dim, bool keepdim) {
  Shape out = s;
  if (keepdim)
    out[dim] = 1;
  else
    out.erase(dim);
  return out;
}

void check_int32_range(int64_t v, const char* op, const char* what) {
  check(v <= INT_MAX, op, ": ", what, " ", v, " exceeds the 32-bit limit of the kernels");
}

// The strides of `x` seen as an operand of `out_shape` it broadcasts to (0 where it repeats).
void broadcast_strides(const Tensor& x, const Shape& out_shape, int64_t* strides) {
  const int lead = out_shape.size() - x.dim();
  for (int d = 0; d < out_shape.size(); ++d) {
    const int xd = d - lead;
    strides[d] = (xd < 0 || x.shape()[xd] == 1) ? 0 : x.strides()[xd];
  }
}

}  // namespace

void check_defined(const Tensor& x, const char* op) {
  check(x.defined(), op, ": got an undefined tensor (default-constructed, or a grad() never computed)");
}

Tensor scalar_like(const Tensor& like, float value, const char* op) {
  check_defined(like, op);
  return Tensor::full({}, value, {.device = like.device()});
}

void check_float(const Tensor& x, const char* op) {
  check_defined(x, op);
  check(x.dtype() == DType::float32, op, ": expected a float32 tensor, got ", x.dtype(), " ", x.shape());
}

void check_same_device(const Tensor& a, const Tensor& b, const char* op) {
  check(a.device() == b.device(), op, ": tensors are on different devices: ", a.device(), " ", a.shape(), " and ",
        b.device(), " ", b.shape());
}

void check_indices(const Tensor& indices, int64_t limit, const char* op, const char* what) {
  const auto check_all = [&](const int32_t* v, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
      check(v[i] >= 0 && v[i] < limit, op, ": ", what, " ", v[i], " at position ", i, " is out of range [0, ", limit,
            ")");
  };
  if (indices.device().is_cpu() && indices.is_contiguous()) return check_all(indices.data<int32_t>(), indices.numel());
  const std::vector<int32_t> v = indices.to_int_vector();  // a copy to host memory first
  check_all(v.data(), static_cast<int64_t>(v.size()));
}

// ---- layout

void copy_into(const Tensor& dst, const Tensor& src, const char* op) {
  check_defined(dst, op);
  check_defined(src, op);
  check(dst.shape() == src.shape(), op, ": cannot copy shape ", src.shape(), " into shape ", dst.shape());
  check(dst.dtype() == src.dtype(), op, ": cannot copy ", src.dtype(), " into ", dst.dtype());
  check_same_device(dst, src, op);
  if (dst.numel() == 0) return;
  CopyLayout l;
  l.ndim = dst.dim();
  for (int d = 0; d < l.ndim; ++d) {
    l.shape[d] = dst.shape()[d];
    l.strides[0][d] = dst.strides()[d];
    l.strides[1][d] = src.strides()[d];
  }
  kernels::coalesce(l);
  bump_version(dst);
  backend(dst).copy(dst.data_ptr(), src.data_ptr(), l);
}

Tensor copy(const Tensor& x) {
  check_defined(x, "copy");
  Tensor out = new_like(x.shape(), x, x.dtype());
  copy_into(out, x, "copy");
  return out;
}

Tensor contiguous(const Tensor& x) {
  check_defined(x, "contiguous");
  return x.is_contiguous() ? x : copy(x);
}

Tensor broadcast_to(const Tensor& x, const Shape& shape, const char* op) {
  check_defined(x, op);
  check(broadcast_shapes(x.shape(), shape, op) == shape, op, ": cannot broadcast shape ", x.shape(), " to ", shape);
  Tensor out = new_like(shape, x, x.dtype());
  if (out.numel() == 0) return out;
  CopyLayout l;
  l.ndim = shape.size();
  for (int d = 0; d < l.ndim; ++d) {
    l.shape[d] = shape[d];
    l.strides[0][d] = out.strides()[d];
  }
  broadcast_strides(x, shape, l.strides[1]);
  kernels::coalesce(l);
  backend(out).copy(out.data_ptr(), x.data_ptr(), l);
  return out;
}

Tensor cast(const Tensor& x, DType dtype) {
  check_defined(x, "to");
  if (x.dtype() == dtype) return copy(x);
  Tensor src = contiguous(x);
  Tensor out = new_like(x.shape(), x, dtype);
  if (out.numel() == 0) return out;
  if (dtype == DType::float32)
    backend(x).cast_int32_to_float32(ptr<float>(out), ptr<int32_t>(src), out.numel());
  else
    backend(x).cast_float32_to_int32(ptr<int32_t>(out), ptr<float>(src), out.numel());
  return out;
}

Tensor to_device(const Tensor& x, Device device) {
  check_defined(x, "to");
  if (x.device() == device) return x;
  const Tensor src = contiguous(x);
  Tensor out = detail::make_tensor(x.shape(), x.dtype(), device);
  const size_t bytes = static_cast<size_t>(x.numel()) * element_size(x.dtype());
  if (bytes == 0) return out;
  if (src.device().is_cpu()) {
    backend_for(device).copy_from_host(out.data_ptr(), src.data_ptr(), bytes);
  } else if (device.is_cpu()) {
    backend(src).copy_to_host(out.data_ptr(), src.data_ptr(), bytes);
  } else {
    const Tensor host = to_device(src, Device::cpu());
    backend_for(device).copy_from_host(out.data_ptr(), host.data_ptr(), bytes);
  }
  return out;
}

Tensor index_select_rows(const Tensor& x, const Tensor& indices, const char* op) {
  check_defined(x, op);
  check(x.dim() >= 1, op, ": cannot select rows of a 0-d tensor");
  check(indices.defined() && indices.dtype() == DType::int32 && indices.dim() == 1, op,
        ": indices must be a 1-D int32 tensor");
  check_same_device(x, indices, op);
  check_indices(indices, x.shape()[0], op, "row index");
  Shape shape = x.shape();
  shape[0] = indices.numel();
  Tensor out = new_like(shape, x, x.dtype());
  if (out.numel() == 0) return out;
  const Tensor src = contiguous(x), idx = contiguous(indices);
  backend(x).gather_rows(out.data_ptr(), src.data_ptr(), ptr<int32_t>(idx), indices.numel(), out.numel() / shape[0]);
  return out;
}

void fill(const Tensor& dst, float value) {
  check_defined(dst, "fill");
  check(dst.is_contiguous(), "fill: expected a contiguous tensor, got strides ", dst.strides());
  uint32_t bits;
  if (dst.dtype() == DType::float32) {
    std::memcpy(&bits, &value, 4);
  } else {
    const int32_t v = static_cast<int32_t>(value);
    std::memcpy(&bits, &v, 4);
  }
  if (dst.numel() == 0) return;
  bump_version(dst);
  backend(dst).fill(dst.data_ptr(), dst.numel(), bits);
}

// ---- elementwise

Tensor unary(UnaryOp kind, const Tensor& x, const char* op) {
  check_float(x, op);
  Tensor in = contiguous(x);
  Tensor out = new_like(x.shape(), x);
  if (out.numel()) backend(x).unary(kind, ptr<float>(out), ptr<float>(in), out.numel());
  return out;
}

Tensor binary(BinaryOp kind, const Tensor& a, const Tensor& b, const char* op) {
  check_float(a, op);
  check_float(b, op);
  Tensor out = new_like(broadcast_shapes(a.shape(), b.shape(), op), a);
  binary_into(kind, out, a, b, op);
  return out;
}

void binary_into(BinaryOp kind, const Tensor& out, const Tensor& a_in, const Tensor& b_in, const char* op) {
  check_float(out, op);
  check_float(a_in, op);
  check_float(b_in, op);
  check_same_device(a_in, b_in, op);
  check_same_device(out, a_in, op);
  const Shape shape = broadcast_shapes(a_in.shape(), b_in.shape(), op);
  check(broadcast_shapes(shape, out.shape(), op) == out.shape(), op, ": result of shape ", shape,
        " does not fit the output's shape ", out.shape());
  if (out.numel() == 0) return;
  // An operand may be the output itself (elementwise in place is safe), but an operand that
  // overlaps the output with another layout would read values already overwritten: copy it first.
  auto unaliased = [&](const Tensor& t) {
    const bool same_layout = t.offset() == out.offset() && t.shape() == out.shape() && t.strides() == out.strides();
    return t.shares_storage(out) && !same_layout ? copy(t) : t;
  };
  const Tensor a = unaliased(a_in), b = unaliased(b_in);
  bump_version(out);
  BinaryLayout l;
  l.ndim = out.dim();
  for (int d = 0; d < l.ndim; ++d) {
    l.shape[d] = out.shape()[d];
    l.strides[0][d] = out.strides()[d];
  }
  broadcast_strides(a, out.shape(), l.strides[1]);
  broadcast_strides(b, out.shape(), l.strides[2]);
  kernels::coalesce(l);
  backend(out).binary(kind, ptr<float>(out), ptr<float>(a), ptr<float>(b), l);
}

Tensor where(const Tensor& mask_in, const Tensor& a, const Tensor& b, const char* op) {
  check_defined(mask_in, op);
  check(mask_in.dtype() == DType::float32 || mask_in.dtype() == DType::int32, op,
        ": mask must be float32 or int32, got ", mask_in.dtype(), " ", mask_in.shape());
  check_float(a, op);
  check_float(b, op);
  check_same_device(mask_in, a, op);
  check_same_device(a, b, op);
  const Tensor mask = mask_in.dtype() == DType::float32 ? mask_in : cast(mask_in, DType::float32);
  const Shape shape = broadcast_shapes(broadcast_shapes(mask.shape(), a.shape(), op), b.shape(), op);
  Tensor out = new_like(shape, a);
  if (out.numel() == 0) return out;
  kernels::WhereLayout l;
  l.ndim = shape.size();
  for (int d = 0; d < l.ndim; ++d) {
    l.shape[d] = shape[d];
    l.strides[0][d] = out.strides()[d];
  }
  broadcast_strides(mask, shape, l.strides[1]);
  broadcast_strides(a, shape, l.strides[2]);
  broadcast_strides(b, shape, l.strides[3]);
  kernels::coalesce(l);
  backend(out).where(ptr<float>(out), ptr<float>(mask), ptr<float>(a), ptr<float>(b), l);
  return out;
}

// ---- reductions

Tensor sum(const Tensor& x, int64_t dim, bool keepdim, const char* op) {
  check_float(x, op);
  const int d = normalize_dim(dim, x.shape(), op);
  Tensor out = new_like(reduced_shape(x.shape(), d, keepdim), x);
  if (out.numel() == 0) return out;
  Tensor in = contiguous(x);
  const Around a = around(x.shape(), d);
  backend(x).sum(ptr<float>(out), ptr<float>(in), a.outer, a.reduce, a.inner);
  return out;
}

Tensor sum_all(const Tensor& x, const char* op) {
  check_float(x, op);
  Tensor out = new_like(Shape{}, x);
  Tensor in = contiguous(x);
  backend(x).sum(ptr<float>(out), in.numel() ? ptr<float>(in) : nullptr, 1, x.numel(), 1);
  return out;
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  check_float(x, "sum_to");
  check(broadcast_shapes(shape, x.shape(), "sum_to") == x.shape(), "sum_to: shape ", shape, " does not broadcast to ",
        x.shape());
  Tensor out = x;
  while (out.dim() > shape.size()) out = sum(out, 0, false, "sum_to");
  for (int d = 0; d < shape.size(); ++d)
    if (shape[d] == 1 && out.shape()[d] != 1) out = sum(out, d, true, "sum_to");
  return out;
}

MaxResult max(const Tensor& x, int64_t dim, bool keepdim, const char* op) {
  check_float(x, op);
  const int d = normalize_dim(dim, x.shape(), op);
  check(x.shape()[d] > 0, op, ": cannot reduce over dim ", dim, " of size 0 in shape ", x.shape());
  check_int32_range(x.shape()[d], op, "reduced size");
  const Shape shape = reduced_shape(x.shape(), d, keepdim);
  MaxResult r{new_like(shape, x), new_like(shape, x, DType::int32)};
  if (r.values.numel() == 0) return r;
  Tensor in = contiguous(x);
  const Around a = around(x.shape(), d);
  backend(x).max(ptr<float>(r.values), ptr<int32_t>(r.indices), ptr<float>(in), a.outer, a.reduce, a.inner);
  return r;
}

MaxResult max_all(const Tensor& x, const char* op) {
  check_float(x, op);
  check(x.numel() > 0, op, ": cannot reduce an empty tensor of shape ", x.shape());
  check_int32_range(x.numel(), op, "element count");
  MaxResult r{new_like(Shape{}, x), new_like(Shape{}, x, DType::int32)};
  Tensor in = contiguous(x);
  backend(x).max(ptr<float>(r.values), ptr<int32_t>(r.indices), ptr<float>(in), 1, x.numel(), 1);
  return r;
}

Tensor max_backward(const Tensor& dy, const Tensor& indices, const Shape& x_shape, int64_t dim) {
  const int d = normalize_dim(dim, x_shape, "max");
  Tensor dx = new_like(x_shape, dy);
  if (dx.numel() == 0) return dx;
  Tensor g = contiguous(dy);
  const Around a = around(x_shape, d);
  backend(dy).max_backward(ptr<float>(dx), ptr<float>(g), ptr<int32_t>(indices), a.outer, a.reduce, a.inner);
  return dx;
}

Tensor max_all_backward(const Tensor& dy, const Tensor& indices, const Shape& x_shape) {
  Tensor dx = new_like(x_shape, dy);
  backend(dy).max_backward(ptr<float>(dx), ptr<float>(dy), ptr<int32_t>(indices), 1, x_shape.numel(), 1);
  return dx;
}

// ---- softmax family

Tensor softmax(const Tensor& x, int64_t dim, bool log, const char* op) {
  check_float(x, op);
  const int d = normalize_dim(dim, x.shape(), op);
  Tensor out = new_like(x.shape(), x);
  if (out.numel() == 0) return out;
  Tensor in = contiguous(x);
  const Around a = around(x.shape(), d);
  backend(x).softmax(ptr<float>(out), ptr<float>(in), a.outer, a.reduce, a.inner, log);
  return out;
}

Tensor softmax_backward(const Tensor& y, const Tensor& dy, int64_t dim, bool log) {
  const int d = normalize_dim(dim, y.shape(), "softmax");
  Tensor dx = new_like(y.shape(), y);
  if (dx.numel() == 0) return dx;
  Tensor yc = contiguous(y), g = contiguous(dy);
  const Around a = around(y.shape(), d);
  backend(y).softmax_backward(ptr<float>(dx), ptr<float>(yc), ptr<float>(g), a.outer, a.reduce, a.inner, log);
  return dx;
}

double sum_squares(const Tensor& x, const char* op) {
  check_float(x, op);
  const Tensor c = contiguous(x);
  return c.numel() ? backend(c).sum_squares(ptr<float>(c), c.numel()) : 0.0;
}

double dot(const Tensor& a, const Tensor& b, const char* op) {
  check_float(a, op);
  check_float(b, op);
  check_same_device(a, b, op);
  check(a.shape() == b.shape(), op, ": shapes ", a.shape(), " and ", b.shape(), " differ");
  const Tensor x = contiguous(a), y = contiguous(b);
  return x.numel() ? backend(x).dot(ptr<float>(x), ptr<float>(y), x.numel()) : 0.0;
}

// ---- Linear epilogue

void bias_activation_(const Tensor& y, const Tensor& bias, kernels::Activation act, const char* op, Tensor* pre) {
  check_float(y, op);
  check(y.dim() == 2 && y.is_contiguous(), op, ": expected a contiguous [rows, cols] output, got ", y.shape());
  if (bias.defined()) {
    check_float(bias, op);
    check_same_device(y, bias, op);
    check(bias.dim() == 1 && bias.shape()[0] == y.shape()[1], op, ": bias of shape ", bias.shape(), " does not match ",
          y.shape()[1], " output features");
  }
  if (pre) *pre = new_like(y.shape(), y);
  if (y.numel() == 0) return;
  const Tensor b = bias.defined() ? contiguous(bias) : Tensor{};
  bump_version(y);
  backend(y).bias_activation(ptr<float>(y), pre ? ptr<float>(*pre) : nullptr, b.defined() ? ptr<float>(b) : nullptr,
                             y.shape()[0], y.shape()[1], act);
}

Tensor bias_activation_backward(const Tensor& saved, const Tensor& dy, kernels::Activation act, Tensor* dbias,
                                const char* op) {
  check(saved.dim() == 2 && dy.shape() == saved.shape(), op, ": gradient of shape ", dy.shape(),
        " for an output of shape ", saved.shape());
  const Tensor sc = contiguous(saved), g = contiguous(dy);
  const int64_t rows = saved.shape()[0], cols = saved.shape()[1];
  Tensor dz = act == kernels::Activation::none ? g : new_like(saved.shape(), saved);
  if (dbias) *dbias = new_like(Shape{cols}, saved);
  if (act == kernels::Activation::none && !dbias) return dz;
  if (rows * cols > 0 || dbias)
    backend(saved).bias_activation_backward(ptr<float>(dz), dbias ? ptr<float>(*dbias) : nullptr, ptr<float>(sc),
                                            ptr<float>(g), rows, cols, act);
  return dz;
}

// ---- losses

CrossEntropyResult cross_entropy(const Tensor& logits, const Tensor& targets, const char* op) {
  check_float(logits, op);
  check_defined(targets, op);
  check(logits.dim() == 2, op, ": expected logits of shape [N, C], got ", logits.shape());
  check(targets.dtype() == DType::int32, op, ": targets must be int32 class indices, got ", targets.dtype(), " ",
        targets.shape());
  check(targets.dim() == 1 && targets.shape()[0] == logits.shape()[0], op, ": targets of shape ", targets.shape(),
        " do not match logits of shape ", logits.shape(), " (expected [", logits.shape()[0], "])");
  check(logits.shape()[0] > 0 && logits.shape()[1] > 0, op, ": empty logits of shape ", logits.shape());
  check_same_device(logits, targets, op);
  check_indices(targets, logits.shape()[1], op, "target");
  const Tensor x = contiguous(logits), t = contiguous(targets);
  CrossEntropyResult r{new_like(Shape{}, x), new_like(x.shape(), x)};
  backend(x).cross_entropy_forward(ptr<float>(r.loss), ptr<float>(r.probs), ptr<float>(x), ptr<int32_t>(t),
                                   x.shape()[0], x.shape()[1]);
  return r;
}

Tensor cross_entropy_backward(const Tensor& probs, const Tensor& targets, const Tensor& dloss) {
  Tensor dx = new_like(probs.shape(), probs);
  const Tensor t = contiguous(targets), g = contiguous(dloss);
  backend(probs).cross_entropy_backward(ptr<float>(dx), ptr<float>(probs), ptr<int32_t>(t), ptr<float>(g),
                                        probs.shape()[0], probs.shape()[1]);
  return dx;
}

// ---- linear algebra

namespace {

// The last two dims of `t` as a GEMM operand, if its strides let BLAS read it in place: rows
// contiguous (row-major), or columns contiguous (the transpose of a row-major matrix). The batch
// stride is set by the caller.
bool as_gemm_operand(const Tensor& t, GemmOperand& op) {
  const int n = t.dim();
  const int64_t rows = t.shape()[n - 2], cols = t.shape()[n - 1];
  const int64_t sr = t.strides()[n - 2], sc = t.strides()[n - 1];
  op.data = ptr<float>(t);
  if ((sc == 1 || cols == 1) && (rows == 1 || sr >= cols)) {
    op.transposed = false;
    op.ld = rows == 1 ? std::max<int64_t>(cols, 1) : sr;
    return op.ld <= INT_MAX;
  }
  if ((sr == 1 || rows == 1) && (cols == 1 || sc >= rows)) {
    op.transposed = true;
    op.ld = cols == 1 ? std::max<int64_t>(rows, 1) : sc;
    return op.ld <= INT_MAX;
  }
  return false;
}

GemmOperand gemm_operand(const Tensor& t, Tensor& keep_alive) {
  GemmOperand op;
  if (as_gemm_operand(t, op)) return op;
  keep_alive = copy(t);  // e.g. a slice with a step: BLAS cannot stride over it
  as_gemm_operand(keep_alive, op);
  return op;
}

// The batch dims of `t` (all but its last two) as strides over the broadcast batch shape `batch`:
// 0 where t repeats (a missing or size-1 dim).
void batch_strides(const Tensor& t, const Shape& batch, int64_t* strides) {
  const int lead = batch.size() - (t.dim() - 2);
  for (int d = 0; d < batch.size(); ++d) {
    const int td = d - lead;
    strides[d] = (td < 0 || t.shape()[td] == 1) ? 0 : t.strides()[td];
  }
}

Shape batch_shape(const Tensor& t) {
  Shape s = t.shape();
  s.erase(s.size() - 1);
  s.erase(s.size() - 1);
  return s;
}

}  // namespace

// Batch dims broadcast as in torch.matmul: the batch shape is broadcast_shapes of the operands'
// leading dims, and each operand is read in place with stride 0 where it repeats. The batch
// layout {out, a, b} is coalesced; its last dim becomes the GEMM's batch (one stride per operand)
// and any dims left are walked here, one batched GEMM each ([B, H, T, D] @ [1, H, D, D] is H GEMM
// calls of B matrices, or one when the strides merge).
Tensor matmul(const Tensor& a, const Tensor& b, const char* op) {
  check_float(a, op);
  check_float(b, op);
  check_same_device(a, b, op);
  check(a.dim() >= 2 && b.dim() >= 2, op, ": expected tensors of at least 2 dims, got shapes ", a.shape(), " and ",
        b.shape());
  const int64_t m = a.shape()[a.dim() - 2], k = a.shape()[a.dim() - 1];
  const int64_t k2 = b.shape()[b.dim() - 2], n = b.shape()[b.dim() - 1];
  check(k == k2, op, ": shapes ", a.shape(), " and ", b.shape(), " are not aligned (", k, " != ", k2, ")");
  const Shape ba = batch_shape(a), bb = batch_shape(b);
  bool compatible = true;
  for (int d = 1; d <= std::min(ba.size(), bb.size()); ++d) {
    const int64_t x = ba[ba.size() - d], y = bb[bb.size() - d];
    compatible = compatible && (x == y || x == 1 || y == 1);
  }
  check(compatible, op, ": batch dims of ", a.shape(), " and ", b.shape(), " do not broadcast");
  const Shape batch = broadcast_shapes(ba, bb, op);
  for (int64_t v : {m, n, k}) check_int32_range(v, op, "matrix size");
  Shape shape = batch;
  shape.push_back(m);
  shape.push_back(n);
  Tensor out = new_like(shape, a);
  if (out.numel() == 0) return out;
  if (k == 0) {
    fill(out, 0.f);
    return out;
  }
  check_int32_range(n, op, "leading dimension");
  Tensor a_copy, b_copy;
  GemmOperand ga = gemm_operand(a, a_copy), gb = gemm_operand(b, b_copy);
  kernels::StridedLayout<3> l;  // the batch dims of {out, a, b}
  l.ndim = batch.size();
  for (int d = 0; d < l.ndim; ++d) {
    l.shape[d] = batch[d];
    l.strides[0][d] = out.strides()[d];
  }
  batch_strides(a_copy.defined() ? a_copy : a, batch, l.strides[1]);
  batch_strides(b_copy.defined() ? b_copy : b, batch, l.strides[2]);
  kernels::coalesce(l);
  const int last = l.ndim - 1;
  const int64_t count = last >= 0 ? l.shape[last] : 1;
  ga.batch_stride = last >= 0 ? l.strides[1][last] : 0;
  gb.batch_stride = last >= 0 ? l.strides[2][last] : 0;
  const int64_t c_stride = last >= 0 ? l.strides[0][last] : m * n;
  const float *a0 = ga.data, *b0 = gb.data;
  int64_t outer = 1;
  for (int d = 0; d < last; ++d) outer *= l.shape[d];
  for (int64_t t = 0; t < outer; ++t) {
    int64_t off[3] = {0, 0, 0}, rest = t;
    for (int d = last - 1; d >= 0; --d) {
      const int64_t i = rest % l.shape[d];
      rest /= l.shape[d];
      for (int o = 0; o < 3; ++o) off[o] += i * l.strides[o][d];
    }
    ga.data = a0 + off[1];
    gb.data = b0 + off[2];
    backend(out).gemm(count, m, n, k, ga, gb, ptr<float>(out) + off[0], n, c_stride, 0.f);
  }
  return out;
}

}  // namespace minidl::dispatch
