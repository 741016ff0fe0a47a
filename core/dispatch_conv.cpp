// Lowering of the convolutional-network ops to kernels: conv2d as im2col + GEMM (docs/convolution.md
// draws the shapes), pooling, batch norm and dropout's mask. Validation lives here, so every error
// names the op and the shapes whichever layer or function called it.
//
// conv2d walks the batch in chunks of at most `nb` images, near-equal in size. For each chunk, im2col
// writes the column matrix col [K, nb·L] (K = C·kh·kw, L = out_h·out_w), one GEMM per group gives
// yt [O, nb·L] = W·col, and conv_output moves yt into y's [nb, O, L] layout with the bias and
// activation. The chunk is sized so that col and yt stay in the CPU's cache (≈ 1 MiB) between the
// passes that write and read them, and chunks run on the CPU's threads in parallel; on a GPU chunks
// are large, so the GEMMs are. The backward recomputes col per chunk rather than keeping it: im2col
// from cache costs less than holding the whole batch's columns.
#include <algorithm>
#include <climits>
#include <cmath>
#include <exception>

#include <omp.h>

#include "core/dispatch.h"
#include "core/dispatch_util.h"

namespace minidl::dispatch {

using kernels::GemmOperand;
using kernels::Window2d;

namespace {

void check_fits_int32(int64_t v, const char* op, const char* what, const Shape& shape) {
  check(v <= INT_MAX, op, ": ", what, " ", v, " exceeds the 32-bit limit of the kernels (input ", shape, ")");
}

// The one Window2d builder: an h×w plane under a kh×kw kernel with the same stride, padding and
// dilation along both axes (what conv2d and the pools take), with its output size.
Window2d window(int64_t height, int64_t width, int64_t kernel_h, int64_t kernel_w, int64_t stride, int64_t padding,
                int64_t dilation = 1) {
  return {.height = height,
          .width = width,
          .kernel_h = kernel_h,
          .kernel_w = kernel_w,
          .stride_h = stride,
          .stride_w = stride,
          .pad_h = padding,
          .pad_w = padding,
          .dilation_h = dilation,
          .dilation_w = dilation,
          .out_h = kernels::window_out_size(height, kernel_h, stride, padding, dilation),
          .out_w = kernels::window_out_size(width, kernel_w, stride, padding, dilation)};
}

Window2d conv_window(const Tensor& x, const Tensor& w, const Conv2dParams& p, const char* op) {
  check_float(x, op);
  check_float(w, op);
  check(x.dim() == 4, op, ": expected a 4-D input [N, C, H, W], got ", x.shape());
  check(w.dim() == 4, op, ": weight must be 4-D [out_channels, in_channels/groups, kH, kW], got ", w.shape());
  check_same_device(x, w, op);
  check(p.stride >= 1 && p.padding >= 0 && p.dilation >= 1 && p.groups >= 1, op,
        ": stride and dilation must be >= 1, padding >= 0 and groups >= 1, got stride ", p.stride, ", padding ",
        p.padding, ", dilation ", p.dilation, ", groups ", p.groups);
  const int64_t c = x.shape()[1], o = w.shape()[0];
  check(c % p.groups == 0, op, ": ", c, " input channels are not divisible by groups=", p.groups, " (input ", x.shape(),
        ")");
  check(o % p.groups == 0, op, ": ", o, " output channels are not divisible by groups=", p.groups, " (weight ",
        w.shape(), ")");
  check(w.shape()[1] * p.groups == c, op, ": weight ", w.shape(), " expects ", w.shape()[1] * p.groups,
        " input channels (", w.shape()[1], " per group × groups=", p.groups, "), input ", x.shape(), " has ", c);
  check(w.shape()[2] >= 1 && w.shape()[3] >= 1, op, ": empty kernel in weight ", w.shape());
  const Window2d win = window(x.shape()[2], x.shape()[3], w.shape()[2], w.shape()[3], p.stride, p.padding, p.dilation);
  const int64_t reach_h = p.dilation * (win.kernel_h - 1) + 1, reach_w = p.dilation * (win.kernel_w - 1) + 1;
  check(reach_h <= win.height + 2 * p.padding && reach_w <= win.width + 2 * p.padding, op, ": kernel ", win.kernel_h,
        "x", win.kernel_w, " (dilation ", p.dilation, ", reach ", reach_h, "x", reach_w,
        ") is larger than the padded input ", win.height + 2 * p.padding, "x", win.width + 2 * p.padding, " (input ",
        x.shape(), ", padding ", p.padding, ")");
  check_fits_int32(c * win.taps(), op, "column rows", x.shape());
  check_fits_int32(win.out_size(), op, "output positions", x.shape());
  return win;
}

// One group's operand of a GEMM over a matrix of `rows` × `cols` per group, groups `rows·cols` apart.
GemmOperand operand(const float* data, int64_t rows, int64_t cols, bool transposed) {
  return {.data = data, .transposed = transposed, .ld = cols, .batch_stride = rows * cols};
}

}  // namespace

// ---- convolution

int64_t conv2d_chunk_images(Device device, int64_t per_image, int64_t batch) {
  const int64_t budget = device.is_cpu() ? int64_t{1} << 18 : int64_t{1} << 24;
  return std::clamp<int64_t>(budget / std::max<int64_t>(per_image, 1), 1, std::max<int64_t>(batch, 1));
}

namespace {

void check_bias(const Tensor& x, const Tensor& bias, int64_t channels, const char* op) {
  if (!bias.defined()) return;
  check_float(bias, op);
  check_same_device(x, bias, op);
  check(bias.dim() == 1 && bias.shape()[0] == channels, op, ": bias of shape ", bias.shape(), " does not match ",
        channels, " output channels");
}

// Runs body(chunk, slot) for chunks 0 … count − 1. On the CPU with more than one thread, chunks run
// in parallel, one OpenMP thread per slot (each slot with scratch buffers of its own); the kernels a
// body calls then run serially, OpenBLAS's GEMM included, as inside any parallel region. A batch's
// images are independent, so this is how a convolution uses several cores: its chunks' GEMMs are
// too small for OpenBLAS to split well. Elsewhere (a GPU: one large chunk) they run in order, slot 0.
int chunk_slots(Device device, int64_t chunks) {
  return device.is_cpu() ? static_cast<int>(std::clamp<int64_t>(num_threads(), 1, chunks)) : 1;
}

template <class Body>
void for_each_chunk(int64_t chunks, int slots, Body&& body) {
  if (slots <= 1) {
    for (int64_t chunk = 0; chunk < chunks; ++chunk) body(chunk, 0);
    return;
  }
  // An exception may not leave a parallel region (the runtime would terminate the process): the
  // first one a chunk throws is kept and rethrown after the region.
  std::exception_ptr error;
#pragma omp parallel for num_threads(slots) schedule(static)
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    try {
      body(chunk, omp_get_thread_num());
    } catch (...) {
#pragma omp critical(minidl_for_each_chunk)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

// The forward's chunks: per chunk of cb images starting at b0, im2col and one GEMM per group into
// yt [O, cb·L]; then epilogue(b0, cb, yt) takes the result to the output (conv_output, or the fused
// pooling of conv_max_pool2d), each chunk to its own images.
template <class Epilogue>
void conv_forward_chunks(const Tensor& x, const Tensor& weight, const Conv2dParams& p, const Window2d& win,
                         const char* op, Epilogue&& epilogue) {
  const int64_t n = x.shape()[0], c = x.shape()[1], o = weight.shape()[0], g = p.groups;
  const Tensor xc = contiguous(x), wc = contiguous(weight);
  const int64_t k = c * win.taps(), kg = k / g, og = o / g, L = win.out_size();
  const int64_t nb = conv2d_chunk_images(x.device(), (k + o) * L, n), chunks = (n + nb - 1) / nb;
  check_fits_int32(nb * L, op, "column matrix width", x.shape());
  const int slots = chunk_slots(x.device(), chunks);
  const Tensor col = new_tensor({slots, k, nb * L}, x.device()), yt = new_tensor({slots, o, nb * L}, x.device());
  const kernels::Backend& be = backend(x);
  for_each_chunk(chunks, slots, [&](int64_t chunk, int slot) {
    const int64_t b0 = chunk * n / chunks, cb = (chunk + 1) * n / chunks - b0, cols = cb * L;
    float* col_s = ptr<float>(col) + slot * k * nb * L;
    float* yt_s = ptr<float>(yt) + slot * o * nb * L;
    be.im2col(col_s, ptr<float>(xc) + b0 * c * win.in_size(), cb, c, win);
    be.gemm(g, og, cols, kg, operand(ptr<float>(wc), og, kg, false), operand(col_s, kg, cols, false), yt_s, cols,
            og * cols, 0.f);
    epilogue(b0, cb, yt_s);
  });
}

// The backward's chunks: prologue(b0, cb, dzt, dbias) writes the chunk's gradient at the GEMM's
// output, dz [O, cb·L], and adds its bias gradient into a zeroed dbias; then the chunk's dW = dz·colᵀ
// and its dx = col2im(Wᵀ·dz). Each chunk's dW and dbias are partial sums of their own, added in chunk
// order at the end: the result does not depend on how many threads ran the chunks.
template <class Prologue>
Conv2dGrads conv_backward_chunks(const Tensor& x, const Tensor& weight, const Conv2dParams& p, const Window2d& win,
                                 bool need_dx, bool need_dweight, bool need_dbias, Prologue&& prologue) {
  const int64_t n = x.shape()[0], c = x.shape()[1], o = weight.shape()[0], g = p.groups;
  Conv2dGrads r;
  if (need_dx) r.dx = new_tensor(x.shape(), x.device());
  if (need_dweight) r.dweight = new_tensor(weight.shape(), x.device());
  if (need_dbias) r.dbias = new_tensor({o}, x.device());
  const bool empty = n == 0 || win.out_size() == 0 || o == 0;
  if (empty) {
    for (const Tensor* t : {&r.dx, &r.dweight, &r.dbias})
      if (t->defined()) fill(*t, 0.f);
    return r;
  }
  if (!need_dx && !need_dweight && !need_dbias) return r;
  const Tensor xc = contiguous(x), wc = contiguous(weight);
  const int64_t k = c * win.taps(), kg = k / g, og = o / g, L = win.out_size();
  const int64_t nb = conv2d_chunk_images(x.device(), (k + o) * L, n), chunks = (n + nb - 1) / nb;
  const int slots = chunk_slots(x.device(), chunks);
  const Device device = x.device();
  const Tensor dzt = new_tensor({slots, o, nb * L}, device);
  const Tensor col = need_dweight ? new_tensor({slots, k, nb * L}, device) : Tensor{};
  const Tensor dcol = need_dx ? new_tensor({slots, k, nb * L}, device) : Tensor{};
  // One chunk: its partials are the results themselves; several: a row of partials per chunk.
  const Tensor dw_parts =
      need_dweight ? (chunks == 1 ? r.dweight : new_tensor({chunks, weight.numel()}, device)) : Tensor{};
  const Tensor db_parts = need_dbias ? (chunks == 1 ? r.dbias : new_tensor({chunks, o}, device)) : Tensor{};
  if (db_parts.defined()) fill(db_parts, 0.f);
  const kernels::Backend& be = backend(x);
  for_each_chunk(chunks, slots, [&](int64_t chunk, int slot) {
    const int64_t b0 = chunk * n / chunks, cb = (chunk + 1) * n / chunks - b0, cols = cb * L;
    float* dzt_s = ptr<float>(dzt) + slot * o * nb * L;
    prologue(b0, cb, dzt_s, db_parts.defined() ? ptr<float>(db_parts) + chunk * o : nullptr);
    if (need_dweight) {  // the chunk's dW[g] = dz[g] · col[g]ᵀ: [og, cols] · [cols, kg]
      float* col_s = ptr<float>(col) + slot * k * nb * L;
      be.im2col(col_s, ptr<float>(xc) + b0 * c * win.in_size(), cb, c, win);
      be.gemm(g, og, kg, cols, operand(dzt_s, og, cols, false), operand(col_s, kg, cols, true),
              ptr<float>(dw_parts) + chunk * weight.numel(), kg, og * kg, 0.f);
    }
    if (need_dx) {  // dcol[g] = W[g]ᵀ · dz[g]: [kg, og] · [og, cols]; then dx = col2im(dcol)
      float* dcol_s = ptr<float>(dcol) + slot * k * nb * L;
      be.gemm(g, kg, cols, og, operand(ptr<float>(wc), og, kg, true), operand(dzt_s, og, cols, false), dcol_s, cols,
              kg * cols, 0.f);
      be.col2im(ptr<float>(r.dx) + b0 * c * win.in_size(), dcol_s, cb, c, win);
    }
  });
  if (chunks > 1 && need_dweight) be.sum(ptr<float>(r.dweight), ptr<float>(dw_parts), 1, chunks, weight.numel());
  if (chunks > 1 && need_dbias) be.sum(ptr<float>(r.dbias), ptr<float>(db_parts), 1, chunks, o);
  return r;
}

Window2d pool_window(const Shape& x, const Pool2dParams& p, const char* op);

// The convolution kernels fuse relu only (GELU's backward would need the pre-activation kept).
void check_conv_activation(kernels::Activation act, const char* op) {
  check(act != kernels::Activation::gelu, op,
        ": the fused activation must be none or relu, got gelu (apply nn::functional::gelu to the output)");
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& p, kernels::Activation act,
              const char* op) {
  check_conv_activation(act, op);
  const Window2d win = conv_window(x, weight, p, op);
  const int64_t n = x.shape()[0], o = weight.shape()[0];
  check_bias(x, bias, o, op);
  Tensor y = new_tensor({n, o, win.out_h, win.out_w}, x.device());
  if (y.numel() == 0) return y;
  const Tensor bc = bias.defined() ? contiguous(bias) : Tensor{};
  const kernels::Backend& be = backend(x);
  conv_forward_chunks(x, weight, p, win, op, [&](int64_t b0, int64_t cb, const float* yt) {
    be.conv_output(ptr<float>(y) + b0 * o * win.out_size(), yt, ptr<float>(bc), cb, o, win.out_size(), act);
  });
  return y;
}

Conv2dGrads conv2d_backward(const Tensor& dy, const Tensor& y, const Tensor& x, const Tensor& weight,
                            const Conv2dParams& p, kernels::Activation act, bool need_dx, bool need_dweight,
                            bool need_dbias) {
  const Window2d win = conv_window(x, weight, p, "conv2d");
  const int64_t n = x.shape()[0], o = weight.shape()[0], L = win.out_size();
  check(dy.shape() == Shape({n, o, win.out_h, win.out_w}), "conv2d: gradient of shape ", dy.shape(),
        " for an output of shape ", Shape({n, o, win.out_h, win.out_w}));
  const Tensor g_out = contiguous(dy), yc = act == kernels::Activation::none ? Tensor{} : contiguous(y);
  const kernels::Backend& be = backend(x);
  return conv_backward_chunks(
      x, weight, p, win, need_dx, need_dweight, need_dbias, [&](int64_t b0, int64_t cb, float* dzt, float* dbias) {
        be.conv_output_backward(dzt, dbias, yc.defined() ? ptr<float>(yc) + b0 * o * L : nullptr,
                                ptr<float>(g_out) + b0 * o * L, cb, o, L, act);
      });
}

MaxResult conv2d_max_pool2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& conv,
                            kernels::Activation act, const Pool2dParams& pool, const char* op) {
  check_conv_activation(act, op);
  const Window2d win = conv_window(x, weight, conv, op);
  const int64_t n = x.shape()[0], o = weight.shape()[0];
  check_bias(x, bias, o, op);
  const Window2d pw = pool_window({n, o, win.out_h, win.out_w}, pool, op);
  const Shape shape{n, o, pw.out_h, pw.out_w};
  MaxResult r{new_tensor(shape, x.device()), new_tensor(shape, x.device(), DType::int32)};
  if (r.values.numel() == 0) return r;
  const Tensor bc = bias.defined() ? contiguous(bias) : Tensor{};
  const kernels::Backend& be = backend(x);
  conv_forward_chunks(x, weight, conv, win, op, [&](int64_t b0, int64_t cb, const float* yt) {
    be.conv_max_pool2d(ptr<float>(r.values) + b0 * o * pw.out_size(), ptr<int32_t>(r.indices) + b0 * o * pw.out_size(),
                       yt, ptr<float>(bc), cb, o, pw, act);
  });
  return r;
}

Conv2dGrads conv2d_max_pool2d_backward(const Tensor& dy, const Tensor& pooled, const Tensor& indices, const Tensor& x,
                                       const Tensor& weight, const Conv2dParams& conv, kernels::Activation act,
                                       const Pool2dParams& pool, bool need_dx, bool need_dweight, bool need_dbias) {
  const Window2d win = conv_window(x, weight, conv, "conv2d_max_pool2d");
  const int64_t n = x.shape()[0], o = weight.shape()[0];
  const Window2d pw = pool_window({n, o, win.out_h, win.out_w}, pool, "conv2d_max_pool2d");
  check(dy.shape() == pooled.shape(), "conv2d_max_pool2d: gradient of shape ", dy.shape(), " for an output of shape ",
        pooled.shape());
  const Tensor g_out = contiguous(dy);
  const kernels::Backend& be = backend(x);
  return conv_backward_chunks(
      x, weight, conv, win, need_dx, need_dweight, need_dbias, [&](int64_t b0, int64_t cb, float* dzt, float* dbias) {
        const int64_t at = b0 * o * pw.out_size();
        be.conv_max_pool2d_backward(dzt, dbias, ptr<float>(pooled) + at, ptr<int32_t>(indices) + at,
                                    ptr<float>(g_out) + at, cb, o, pw, act);
      });
}

// ---- pooling

namespace {

Window2d pool_window(const Shape& x, const Pool2dParams& p, const char* op) {
  check(x.size() == 3 || x.size() == 4, op, ": expected a 3-D [C, H, W] or 4-D [N, C, H, W] input, got ", x);
  check(p.kernel >= 1 && p.stride >= 1 && p.padding >= 0, op,
        ": kernel_size and stride must be >= 1 and padding >= 0, got kernel_size ", p.kernel, ", stride ", p.stride,
        ", padding ", p.padding);
  check(p.padding <= p.kernel / 2, op, ": padding ", p.padding, " must be at most half the kernel size ", p.kernel);
  const int64_t h = x[x.size() - 2], w = x[x.size() - 1];
  check(p.kernel <= h + 2 * p.padding && p.kernel <= w + 2 * p.padding, op, ": kernel ", p.kernel, "x", p.kernel,
        " is larger than the padded input ", h + 2 * p.padding, "x", w + 2 * p.padding, " (input ", x, ", padding ",
        p.padding, ")");
  check_fits_int32(h * w, op, "plane size", x);
  return window(h, w, p.kernel, p.kernel, p.stride, p.padding);
}

Window2d pool_window(const Tensor& x, const Pool2dParams& p, const char* op) {
  check_float(x, op);
  return pool_window(x.shape(), p, op);
}

Shape pooled_shape(const Shape& in, const Window2d& win) {
  Shape s = in;
  s[s.size() - 2] = win.out_h;
  s[s.size() - 1] = win.out_w;
  return s;
}

int64_t planes(const Shape& s) { return s.size() == 4 ? s[0] * s[1] : s[0]; }

// A pooling backward's window: the forward's input plane and options (the forward checked them);
// dy must have the forward's output shape.
Window2d backward_window(const Shape& x_shape, const Shape& dy_shape, const Pool2dParams& p) {
  const Window2d win =
      window(x_shape[x_shape.size() - 2], x_shape[x_shape.size() - 1], p.kernel, p.kernel, p.stride, p.padding);
  check(dy_shape.size() == x_shape.size() && dy_shape[dy_shape.size() - 2] == win.out_h &&
            dy_shape[dy_shape.size() - 1] == win.out_w,
        "pool2d backward: dy ", dy_shape, " is not the output shape of input ", x_shape, " (", win.out_h, "x",
        win.out_w, " per plane)");
  return win;
}

}  // namespace

MaxResult max_pool2d(const Tensor& x, const Pool2dParams& p, const char* op) {
  const Window2d win = pool_window(x, p, op);
  const Shape shape = pooled_shape(x.shape(), win);
  MaxResult r{new_tensor(shape, x.device()), new_tensor(shape, x.device(), DType::int32)};
  if (r.values.numel() == 0) return r;
  const Tensor xc = contiguous(x);
  backend(x).max_pool2d(ptr<float>(r.values), ptr<int32_t>(r.indices), ptr<float>(xc), planes(x.shape()), win);
  return r;
}

Tensor max_pool2d_backward(const Tensor& dy, const Tensor& indices, const Shape& x_shape, const Pool2dParams& p) {
  const Window2d w = backward_window(x_shape, dy.shape(), p);
  Tensor dx = new_tensor(x_shape, dy.device());
  if (dx.numel() == 0) return dx;
  const Tensor g = contiguous(dy);
  backend(dy).max_pool2d_backward(ptr<float>(dx), ptr<float>(g), ptr<int32_t>(indices), planes(x_shape), w);
  return dx;
}

Tensor avg_pool2d(const Tensor& x, const Pool2dParams& p, const char* op) {
  const Window2d win = pool_window(x, p, op);
  Tensor y = new_tensor(pooled_shape(x.shape(), win), x.device());
  if (y.numel() == 0) return y;
  const Tensor xc = contiguous(x);
  backend(x).avg_pool2d(ptr<float>(y), ptr<float>(xc), planes(x.shape()), win);
  return y;
}

Tensor avg_pool2d_backward(const Tensor& dy, const Shape& x_shape, const Pool2dParams& p) {
  const Window2d w = backward_window(x_shape, dy.shape(), p);
  Tensor dx = new_tensor(x_shape, dy.device());
  if (dx.numel() == 0) return dx;
  const Tensor g = contiguous(dy);
  backend(dy).avg_pool2d_backward(ptr<float>(dx), ptr<float>(g), planes(x_shape), w);
  return dx;
}

// ---- batch norm

namespace {

// Elements per channel per example: the product of the dims after [N, C].
int64_t inner_size(const Shape& s) {
  int64_t inner = 1;
  for (int d = 2; d < s.size(); ++d) inner *= s[d];
  return inner;
}

// A per-channel vector argument of batch_norm: undefined, or float32 [C] on x's device.
void check_channel_vector(const Tensor& v, int64_t c, const Tensor& x, const char* name, const char* op) {
  if (!v.defined()) return;
  check_float(v, op);
  check_same_device(x, v, op);
  check(v.dim() == 1 && v.shape()[0] == c, op, ": ", name, " of shape ", v.shape(), " does not match ", c,
        " channels of input ", x.shape());
}

}  // namespace

BatchNormResult batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                           const Tensor& bias, bool training, float momentum, float eps, const char* op) {
  check_float(x, op);
  check(x.dim() >= 2, op, ": expected an input [N, C] or [N, C, …], got ", x.shape());
  const int64_t n = x.shape()[0], c = x.shape()[1], inner = inner_size(x.shape());
  check_channel_vector(running_mean, c, x, "running_mean", op);
  check_channel_vector(running_var, c, x, "running_var", op);
  check_channel_vector(weight, c, x, "weight", op);
  check_channel_vector(bias, c, x, "bias", op);
  check(running_mean.defined() == running_var.defined(), op,
        ": running_mean and running_var must both be given or both be undefined");
  check(training || running_mean.defined(), op, ": evaluation mode needs running_mean and running_var");
  check(!running_mean.defined() || (running_mean.is_contiguous() && running_var.is_contiguous()), op,
        ": running_mean and running_var must be contiguous");
  check(std::isfinite(momentum) && momentum >= 0 && momentum <= 1 && std::isfinite(eps) && eps >= 0, op,
        ": momentum must be in [0, 1] and eps >= 0, got momentum ", momentum, ", eps ", eps);
  check(!training || n * inner > 1, op, ": expected more than 1 value per channel when training, got input ",
        x.shape());
  BatchNormResult r{new_tensor(x.shape(), x.device()), new_tensor({c}, x.device()), new_tensor({c}, x.device())};
  if (c == 0 || n * inner == 0) return r;
  const Tensor xc = contiguous(x), w = weight.defined() ? contiguous(weight) : Tensor{},
               b = bias.defined() ? contiguous(bias) : Tensor{};
  if (training && running_mean.defined()) {  // updated in place below: a graph that saved them must know
    detail::impl_of(running_mean)->storage->bump_version();
    detail::impl_of(running_var)->storage->bump_version();
  }
  backend(x).batch_norm_forward(ptr<float>(r.y), ptr<float>(r.save_mean), ptr<float>(r.save_invstd),
                                ptr<float>(running_mean), ptr<float>(running_var), ptr<float>(xc), ptr<float>(w),
                                ptr<float>(b), n, c, inner, training, momentum, eps);
  return r;
}

BatchNormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                                   const Tensor& save_invstd, bool training, bool need_dx, bool need_dweight,
                                   bool need_dbias) {
  check(dy.shape() == x.shape(), "batch_norm: gradient of shape ", dy.shape(), " for an input of shape ", x.shape());
  const int64_t n = x.shape()[0], c = x.shape()[1], inner = inner_size(x.shape());
  BatchNormGrads r;
  if (need_dx) r.dx = new_tensor(x.shape(), x.device());
  if (need_dweight) r.dweight = new_tensor({c}, x.device());
  if (need_dbias) r.dbias = new_tensor({c}, x.device());
  if (c == 0 || (!need_dx && !need_dweight && !need_dbias)) return r;
  const Tensor g = contiguous(dy), xc = contiguous(x), w = weight.defined() ? contiguous(weight) : Tensor{};
  backend(x).batch_norm_backward(ptr<float>(r.dx), ptr<float>(r.dweight), ptr<float>(r.dbias), ptr<float>(g),
                                 ptr<float>(xc), ptr<float>(w), ptr<float>(save_mean), ptr<float>(save_invstd), n, c,
                                 inner, training);
  return r;
}

// ---- dropout

Tensor dropout_mask(const Shape& shape, Device device, float p, uint64_t seed) {
  check(p >= 0.f && p < 1.f, "dropout: p must be in [0, 1), got ", p);
  Tensor mask = new_tensor(shape, device);
  if (mask.numel()) backend(mask).dropout_mask(ptr<float>(mask), mask.numel(), seed, p);
  return mask;
}

}  // namespace minidl::dispatch
