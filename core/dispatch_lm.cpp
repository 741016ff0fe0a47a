// Lowering of the language-model kernels (issue 26): gather/index_select and their scatter-add,
// layer norm, and fused attention. Like core/dispatch.cpp: validate, allocate, call the backend of
// the operands' device; the math is in kernels/{index,layer_norm,attention}_math.h.
#include "core/dispatch.h"
#include "core/dispatch_util.h"

namespace minidl::dispatch {

// ---- indexing

namespace {

// The [outer, n, inner] view of x_shape around dim d, with k selected positions and the index's
// strides: per_row for index_select (one index per slice), else gather's index of dy's shape.
kernels::IndexLayout index_layout(const Shape& x_shape, int d, int64_t k, bool per_row) {
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < d; ++i) outer *= x_shape[i];
  for (int i = d + 1; i < x_shape.size(); ++i) inner *= x_shape[i];
  kernels::IndexLayout l{outer, x_shape[d], k, inner, {0, 1, 0}};
  if (!per_row) {
    l.index_strides[0] = k * inner;
    l.index_strides[1] = inner;
    l.index_strides[2] = 1;
  }
  return l;
}

void check_index_tensor(const Tensor& x, const Tensor& index, const char* op) {
  check_float(x, op);
  check_defined(index, op);
  check(index.dtype() == DType::int32, op, ": index must be int32, got ", index.dtype(), " ", index.shape());
  check_same_device(x, index, op);
}

}  // namespace

Tensor gather(const Tensor& x_in, int64_t dim, const Tensor& index, const char* op) {
  check_index_tensor(x_in, index, op);
  const int d = normalize_dim(dim, x_in.shape(), op);
  check(index.dim() == x_in.dim(), op, ": index of shape ", index.shape(), " must have the rank of x ", x_in.shape());
  Tensor x = x_in;
  for (int k = 0; k < x.dim(); ++k) {
    if (k == d) continue;
    check(index.shape()[k] <= x_in.shape()[k], op, ": index of shape ", index.shape(), " is larger than x ",
          x_in.shape(), " in dim ", k);
    x = x.detach().slice(k, 0, index.shape()[k]);
  }
  check_indices(index, x_in.shape()[d], op, "index");
  Tensor out = new_tensor(index.shape(), x.device());
  if (out.numel() == 0) return out;
  const Tensor xc = contiguous(x), idx = contiguous(index);
  backend(x).gather(ptr<float>(out), ptr<float>(xc), ptr<int32_t>(idx),
                    index_layout(xc.shape(), d, index.shape()[d], false));
  return out;
}

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index, const char* op) {
  check_index_tensor(x, index, op);
  const int d = normalize_dim(dim, x.shape(), op);
  check(index.dim() == 1, op, ": index must be 1-D, got shape ", index.shape());
  check_indices(index, x.shape()[d], op, "index");
  Shape shape = x.shape();
  shape[d] = index.numel();
  Tensor out = new_tensor(shape, x.device());
  if (out.numel() == 0) return out;
  const Tensor xc = contiguous(x), idx = contiguous(index);
  backend(x).gather(ptr<float>(out), ptr<float>(xc), ptr<int32_t>(idx),
                    index_layout(x.shape(), d, index.numel(), true));
  return out;
}

Tensor scatter_add(const Tensor& dy, int64_t dim, const Tensor& index, const Shape& x_shape, bool per_row) {
  const int d = normalize_dim(dim, x_shape, "scatter_add");
  // gather read from x sliced to the index's shape outside d: the scatter covers that part of dx.
  Shape part = x_shape;
  if (!per_row)
    for (int k = 0; k < part.size(); ++k)
      if (k != d) part[k] = index.shape()[k];
  Tensor dx = new_tensor(part, dy.device());
  if (dx.numel() > 0) {
    const Tensor g = contiguous(dy), idx = contiguous(index);
    backend(dy).scatter_add(ptr<float>(dx), ptr<float>(g), ptr<int32_t>(idx),
                            index_layout(part, d, dy.shape()[d], per_row));
  }
  if (part == x_shape) return dx;
  Tensor full = new_tensor(x_shape, dy.device());
  fill(full, 0.f);
  Tensor view = full;
  for (int k = 0; k < part.size(); ++k) view = view.slice(k, 0, part[k]);
  copy_into(view, dx, "scatter_add");
  return full;
}

// ---- layer normalization (language models; here beside batch norm, its per-channel sibling)

LayerNormResult layer_norm(const Tensor& x_in, int64_t cols, const Tensor& weight, const Tensor& bias, float eps,
                           const char* op) {
  check_float(x_in, op);
  check(cols > 0 && x_in.numel() % cols == 0, op, ": cannot normalize ", x_in.shape(), " over groups of ", cols,
        " elements");
  for (const Tensor* p : {&weight, &bias}) {
    if (!p->defined()) continue;
    check_float(*p, op);
    check_same_device(x_in, *p, op);
    check(p->numel() == cols, op, ": weight/bias of shape ", p->shape(), " for ", cols, " normalized elements");
  }
  const Tensor x = contiguous(x_in), w = weight.defined() ? contiguous(weight) : Tensor{},
               b = bias.defined() ? contiguous(bias) : Tensor{};
  const int64_t rows = x.numel() / cols;
  LayerNormResult r{detail::make_tensor(x.shape(), DType::float32, x.device()),
                    detail::make_tensor(Shape{rows}, DType::float32, x.device()),
                    detail::make_tensor(Shape{rows}, DType::float32, x.device())};
  if (rows == 0) return r;
  backend(x).layer_norm_forward(ptr<float>(r.y), ptr<float>(r.mean), ptr<float>(r.rstd), ptr<float>(x), ptr<float>(w),
                                ptr<float>(b), rows, cols, eps);
  return r;
}

LayerNormGrads layer_norm_backward(const Tensor& dy, const Tensor& x_in, const Tensor& weight, const Tensor& mean,
                                   const Tensor& rstd, bool need_dx, bool need_dweight, bool need_dbias) {
  const int64_t rows = mean.numel(), cols = rows ? x_in.numel() / rows : 0;
  const Tensor x = contiguous(x_in), g = contiguous(dy), w = weight.defined() ? contiguous(weight) : Tensor{};
  const auto make = [&](bool need, const Shape& s) {
    return need ? detail::make_tensor(s, DType::float32, x.device()) : Tensor{};
  };
  LayerNormGrads r{make(need_dx, x.shape()), make(need_dweight, weight.defined() ? weight.shape() : Shape{}),
                   make(need_dbias, Shape{cols})};
  if (rows == 0) {
    for (Tensor* t : {&r.dweight, &r.dbias})
      if (t->defined()) fill(*t, 0.f);
    return r;
  }
  const auto p = [](const Tensor& t) { return ptr<float>(t); };
  backend(x).layer_norm_backward(p(r.dx), p(r.dweight), p(r.dbias), p(g), p(x), p(w), p(mean), p(rstd), rows, cols);
  return r;
}

// ---- fused attention (language models)

namespace {

using kernels::AttentionLayout;

// t's [batch, heads, rows, d] strides into st, with batch the first of ≥ 4 dims and heads the rest
// before the last two: read in place when its rows are contiguous and its head dims merge into one
// stride (a transposed or head-split view does); false when t must be copied first.
bool attention_strides(const Tensor& t, int64_t (&st)[3]) {
  const int n = t.dim();
  const Shape &shape = t.shape(), &strides = t.strides();
  if (shape[n - 1] > 1 && strides[n - 1] != 1) return false;
  const int first_head = n >= 4 ? 1 : 0;
  st[0] = n >= 4 ? strides[0] : 0;
  st[1] = n - 2 > first_head ? strides[n - 3] : 0;
  st[2] = strides[n - 2];
  for (int i = first_head; i + 1 < n - 2; ++i)
    if (shape[i + 1] != 1 && strides[i] != strides[i + 1] * shape[i + 1]) return false;
  return true;
}

// t itself when attention_strides can read it, else a contiguous copy; strides into st.
Tensor attention_operand(const Tensor& t, int64_t (&st)[3]) {
  if (attention_strides(t, st)) return t;
  Tensor c = contiguous(t);
  attention_strides(c, st);
  return c;
}

// A new tensor of `like`'s [..., rows, d] shape. When `like` is a [B, H, T, D] view of a
// [B, T, H, D] array (the heads of a projection, transposed), so is the result: its transpose back
// to [B, T, H·D] is then a view, not a copy (PyTorch's CPU attention lays its output out so too).
Tensor new_heads_like(const Tensor& like) {
  const Shape& s = like.shape();
  if (like.dim() != 4 || like.strides()[1] >= like.strides()[2]) return new_tensor(s, like.device());
  const Tensor base = new_tensor(Shape{s[0], s[2], s[1], s[3]}, like.device());
  return detail::make_view(base, s, Shape{s[1] * s[2] * s[3], s[3], s[1] * s[3], 1}, 0);
}

AttentionLayout attention_layout(const Tensor& q, const Tensor& k) {
  AttentionLayout l;
  const int n = q.dim();
  l.batch = n >= 4 ? q.shape()[0] : 1;
  l.heads = 1;
  for (int i = n >= 4 ? 1 : 0; i < n - 2; ++i) l.heads *= q.shape()[i];
  l.t = q.size(-2);
  l.s = k.size(-2);
  l.d = q.size(-1);
  return l;
}

void set_strides(AttentionLayout& l, int operand, const Tensor& t) {
  const bool ok = attention_strides(t, l.strides[operand]);
  check(ok, "attention: internal: operand ", operand, " of shape ", t.shape(), " is not laid out as expected");
}

}  // namespace

AttentionResult attention(const Tensor& q, const Tensor& k, const Tensor& v, float scale, bool causal, const char* op) {
  for (const Tensor* t : {&q, &k, &v}) {
    check_float(*t, op);
    check_same_device(q, *t, op);
  }
  check(q.dim() >= 2 && k.dim() == q.dim() && v.dim() == q.dim(), op, ": expected q [..., T, D], k and v [..., S, D] ",
        "of one rank (at least 2), got ", q.shape(), ", ", k.shape(), ", ", v.shape());
  bool same = k.shape() == v.shape() && q.size(-1) == k.size(-1);
  for (int d = 0; same && d < q.dim() - 2; ++d) same = q.shape()[d] == k.shape()[d];
  check(same, op, ": shapes of q ", q.shape(), ", k ", k.shape(), " and v ", v.shape(),
        " do not match (q [..., T, D], k and v [..., S, D] with the same leading dims)");
  AttentionLayout l = attention_layout(q, k);
  const Tensor qc = attention_operand(q, l.strides[AttentionLayout::q]),
               kc = attention_operand(k, l.strides[AttentionLayout::k]),
               vc = attention_operand(v, l.strides[AttentionLayout::v]);
  AttentionResult r{new_heads_like(qc), new_tensor(Shape{l.batch * l.heads, l.t}, q.device())};
  if (r.out.numel() == 0) return r;
  set_strides(l, AttentionLayout::out, r.out);
  backend(q).attention_forward(ptr<float>(r.out), ptr<float>(r.lse), ptr<float>(qc), ptr<float>(kc), ptr<float>(vc), l,
                               scale, causal);
  return r;
}

AttentionGrads attention_backward(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor& out, const Tensor& lse, float scale, bool causal,
                                  const AttentionGrads* into) {
  AttentionLayout l = attention_layout(q, k);
  const Tensor qc = attention_operand(q, l.strides[AttentionLayout::q]),
               kc = attention_operand(k, l.strides[AttentionLayout::k]),
               vc = attention_operand(v, l.strides[AttentionLayout::v]),
               oc = attention_operand(out, l.strides[AttentionLayout::out]),
               g = attention_operand(dout, l.strides[AttentionLayout::dout]);
  AttentionGrads r = into ? *into : AttentionGrads{new_heads_like(qc), new_heads_like(kc), new_heads_like(vc)};
  check(r.dq.shape() == q.shape() && r.dk.shape() == k.shape() && r.dv.shape() == v.shape(),
        "attention: internal: gradients of shapes ", r.dq.shape(), ", ", r.dk.shape(), ", ", r.dv.shape(), " for ",
        q.shape(), ", ", k.shape(), ", ", v.shape());
  for (Tensor* x : {&r.dq, &r.dk, &r.dv})
    if (x->numel() > 0 && (l.batch * l.heads * l.t == 0 || l.d == 0)) fill(*x, 0.f);
  if (l.batch * l.heads * l.t == 0 || l.d == 0) return r;
  set_strides(l, AttentionLayout::dq, r.dq);
  set_strides(l, AttentionLayout::dk, r.dk);
  set_strides(l, AttentionLayout::dv, r.dv);
  const Tensor delta = new_tensor(Shape{l.batch * l.heads, l.t}, q.device());
  backend(q).attention_backward(ptr<float>(r.dq), ptr<float>(r.dk), ptr<float>(r.dv), ptr<float>(delta), ptr<float>(g),
                                ptr<float>(qc), ptr<float>(kc), ptr<float>(vc), ptr<float>(oc), ptr<float>(lse), l,
                                scale, causal);
  return r;
}

}  // namespace minidl::dispatch
