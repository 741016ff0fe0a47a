// Tensor-level computation without autograd: each function validates its operands (defined,
// dtype, device, shapes), allocates the result and runs the kernel of the operands' backend.
// The differentiable ops in autograd/ call these for their forward and their backward; nothing
// above core calls a kernel directly. `op` is the public op's name, used in error messages.
#pragma once

#include <array>
#include <span>

#include "core/tensor.h"
#include "kernels/backend.h"

namespace minidl::dispatch {

using kernels::BinaryOp;
using kernels::UnaryOp;

// ---- layout
Tensor contiguous(const Tensor& x);  // x itself when contiguous
Tensor copy(const Tensor& x);        // always a new contiguous tensor
/// Writes src into dst element by element (same shape; dst may be a strided view).
void copy_into(const Tensor& dst, const Tensor& src, const char* op);
/// x repeated along its broadcast dimensions, materialized: the backward of a reduction.
Tensor broadcast_to(const Tensor& x, const Shape& shape, const char* op);
Tensor cast(const Tensor& x, DType dtype);
/// A contiguous copy of x on `device` (x itself when it is already there). Crosses between host and
/// GPU with one copy each way; between two GPUs through the host.
Tensor to_device(const Tensor& x, Device device);
/// Rows indices[i] of x along dim 0, gathered into one new tensor [len(indices), …] (int32 indices).
Tensor index_select_rows(const Tensor& x, const Tensor& indices, const char* op);
/// x's elements along dim `dim` picked by the int32 `index` (same rank as x, each other dim no larger
/// than x's): out[…, j, …] = x[…, index[…, j, …], …] (torch.gather). Indices are checked.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index, const char* op);
/// The slices x[…, index[j], …] along dim for a 1-D int32 index (torch.index_select).
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index, const char* op);
/// The adjoint of both: dx of shape x_shape with dy's elements added at the positions they were
/// read from (index as given to gather, or 1-D for index_select, told by `per_row`).
Tensor scatter_add(const Tensor& dy, int64_t dim, const Tensor& index, const Shape& x_shape, bool per_row);
/// Every element of contiguous `dst` set to value (converted to dst's dtype).
void fill(const Tensor& dst, float value);

// ---- elementwise (float32; binary ops broadcast)
Tensor unary(UnaryOp kind, const Tensor& x, const char* op);
Tensor binary(BinaryOp kind, const Tensor& a, const Tensor& b, const char* op);
/// out = kind(a, b) into an existing tensor of the broadcast shape; out may be a or b (in place).
void binary_into(BinaryOp kind, const Tensor& out, const Tensor& a, const Tensor& b, const char* op);
/// mask ≠ 0 ? a : b, the three broadcast together; mask is float32 (or int32, cast first).
Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b, const char* op);

// ---- reductions; `dim` may be negative
Tensor sum(const Tensor& x, int64_t dim, bool keepdim, const char* op);
Tensor sum_all(const Tensor& x, const char* op);  // 0-d
/// Sums x over the dimensions that broadcasting added to `shape`: the backward of broadcasting.
Tensor sum_to(const Tensor& x, const Shape& shape);
/// Σ x² over every element, in double, on the host (NaN or inf when an element is).
double sum_squares(const Tensor& x, const char* op);
/// Σ a·b over every element of two same-shaped tensors, in double, on the host.
double dot(const Tensor& a, const Tensor& b, const char* op);

struct MaxResult {
  Tensor values;   // float32
  Tensor indices;  // int32, position along the reduced dim (or in the flattened tensor)
};
MaxResult max(const Tensor& x, int64_t dim, bool keepdim, const char* op);
MaxResult max_all(const Tensor& x, const char* op);
/// Gradient of max: dy routed to the positions in `indices`, zero elsewhere, in x's shape.
/// (dy has max's output shape, keepdim or not: only its element order matters, which is the same.)
Tensor max_backward(const Tensor& dy, const Tensor& indices, const Shape& x_shape, int64_t dim);
Tensor max_all_backward(const Tensor& dy, const Tensor& indices, const Shape& x_shape);

// ---- softmax family
Tensor softmax(const Tensor& x, int64_t dim, bool log, const char* op);
Tensor softmax_backward(const Tensor& y, const Tensor& dy, int64_t dim, bool log);

// ---- losses
struct CrossEntropyResult {
  Tensor loss;   // 0-d, the mean over rows
  Tensor probs;  // [n, c] softmax, kept for the backward
};
/// Fused softmax + NLL of logits [n, c] (float32) against targets [n] (int32 in [0, c)).
CrossEntropyResult cross_entropy(const Tensor& logits, const Tensor& targets, const char* op);
Tensor cross_entropy_backward(const Tensor& probs, const Tensor& targets, const Tensor& dloss);

// ---- linear algebra
/// a·b for 2-D operands, or batched over a leading dim (3-D; a 2-D side is shared by every batch).
/// Transposed views go to the GEMM as transpose flags, not copies.
Tensor matmul(const Tensor& a, const Tensor& b, const char* op = "matmul");

// ---- a Linear layer's fused epilogue (nn::functional::linear)
/// y = act(y + bias) in place; y is a contiguous [rows, cols] tensor this op just made, bias [cols]
/// or undefined. With `pre` not null, *pre receives y + bias before the activation (a new tensor):
/// what gelu's backward reads.
void bias_activation_(const Tensor& y, const Tensor& bias, kernels::Activation act, const char* op,
                      Tensor* pre = nullptr);
/// dz = dy ⊙ act' (a new tensor, or dy itself when there is no activation), act' from `saved`: the
/// output y for relu, the pre-activation for gelu; *dbias, when dbias is not null, receives Σ_rows dz.
Tensor bias_activation_backward(const Tensor& saved, const Tensor& dy, kernels::Activation act, Tensor* dbias,
                                const char* op);

// ---- the fused optimizer steps
/// One parameter of a fused optimizer step: its gradient, its state slots in the optimizer's order
/// (undefined where an option leaves a slot out), and its own step count, this step included (1 on
/// its first). `first`: the SGD family's buffer holds nothing yet and is to be set to the gradient.
struct OptimSlot {
  Tensor param, grad;
  std::array<Tensor, 3> state;
  int64_t step = 0;
  bool first = false;
};
/// Updates every slot in one kernel call per kind (kernels/optimizer_math.h); shapes, dtypes and
/// devices are checked first, so a bad slot changes nothing. state[0] is the momentum buffer (SGD
/// family), exp_avg, exp_avg_sq, max_exp_avg_sq (Adam), square_avg, momentum_buffer, grad_avg
/// (RMSprop), sum (Adagrad).
void sgd_step(std::span<const OptimSlot> slots, const kernels::SgdHyper& hyper, const char* op);
void adam_step(std::span<const OptimSlot> slots, const kernels::AdamHyper& hyper, const char* op);
void rmsprop_step(std::span<const OptimSlot> slots, const kernels::RMSpropHyper& hyper, const char* op);
void adagrad_step(std::span<const OptimSlot> slots, const kernels::AdagradHyper& hyper, const char* op);

// ---- convolutional networks (core/dispatch_conv.cpp). Images are NCHW, float32.
struct Conv2dParams {
  int64_t stride = 1, padding = 0, dilation = 1, groups = 1;
};
/// y = act(conv2d(x, weight) + bias) for x [N, C, H, W], weight [O, C/groups, kH, kW] and bias [O]
/// (or undefined): [N, O, out_h, out_w]. Lowered to im2col + one GEMM per group, over the batch in
/// chunks whose column matrix fits in cache. Bad shapes and options throw naming `op`.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& params,
              kernels::Activation act, const char* op);
struct Conv2dGrads {
  Tensor dx, dweight, dbias;  // undefined where not asked for
};
/// At most this many images per chunk of conv2d's walk over a batch of n, for per_image =
/// (C·kh·kw + O)·out_h·out_w floats of column matrix and GEMM result per image: ~1 MiB per chunk on
/// the CPU (L2-sized), 64 Mi floats on a GPU. The batch is cut into chunks = ⌈n / that⌉ chunks of
/// near-equal size, chunk c covering images [c·n/chunks, (c+1)·n/chunks): the threads, which run
/// the chunks in parallel on the CPU, then get near-equal shares (64 images in 22 chunks: 32 and 32
/// rather than 33 and 31). examples/bench_cnn_gemm_bound replays the same GEMMs.
int64_t conv2d_chunk_images(Device device, int64_t per_image, int64_t batch);
/// conv2d's gradients from dy and the forward's output y (read only when act is relu): dweight is
/// dz·colᵀ, dx is col2im(weightᵀ·dz), dbias is Σ dz over the batch and positions.
Conv2dGrads conv2d_backward(const Tensor& dy, const Tensor& y, const Tensor& x, const Tensor& weight,
                            const Conv2dParams& params, kernels::Activation act, bool need_dx, bool need_dweight,
                            bool need_dbias);

struct Pool2dParams {
  int64_t kernel = 1, stride = 1, padding = 0;  // stride resolved (> 0)
};
/// conv2d, its activation and max_pool2d as one op (Sequential's Conv2d + ReLU + MaxPool2d): the
/// pooled output and each winner's flat index in its [out_h, out_w] conv output plane. The full-size
/// conv output is never stored; values and gradients equal the three ops' bit for bit.
MaxResult conv2d_max_pool2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& conv,
                            kernels::Activation act, const Pool2dParams& pool, const char* op);
Conv2dGrads conv2d_max_pool2d_backward(const Tensor& dy, const Tensor& pooled, const Tensor& indices, const Tensor& x,
                                       const Tensor& weight, const Conv2dParams& conv, kernels::Activation act,
                                       const Pool2dParams& pool, bool need_dx, bool need_dweight, bool need_dbias);
/// Max over each window of x [N, C, H, W] (or [C, H, W]), and each winner's flat index in its plane.
MaxResult max_pool2d(const Tensor& x, const Pool2dParams& params, const char* op);
Tensor max_pool2d_backward(const Tensor& dy, const Tensor& indices, const Shape& x_shape, const Pool2dParams& params);
/// Mean over each window, padding counted as zeros (PyTorch's count_include_pad = true).
Tensor avg_pool2d(const Tensor& x, const Pool2dParams& params, const char* op);
Tensor avg_pool2d_backward(const Tensor& dy, const Shape& x_shape, const Pool2dParams& params);

struct BatchNormResult {
  Tensor y;
  Tensor save_mean, save_invstd;  // [C], the statistics y was normalized with (for the backward)
};
/// Normalizes x [N, C, …] per channel C. Training: the batch's statistics, and running_mean and
/// running_var (when defined) updated in place; evaluation: the running statistics. weight and
/// bias ([C]) may be undefined.
BatchNormResult batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                           const Tensor& bias, bool training, float momentum, float eps, const char* op);
struct BatchNormGrads {
  Tensor dx, dweight, dbias;  // undefined where not asked for
};
BatchNormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                                   const Tensor& save_invstd, bool training, bool need_dx, bool need_dweight,
                                   bool need_dbias);

struct LayerNormResult {
  Tensor y;
  Tensor mean, rstd;  // [rows]: each row's mean and 1/√(var + eps), for the backward
};
/// Normalizes x over its last dims, which hold `cols` elements per row (kernels/layer_norm_math.h);
/// weight and bias hold cols elements (or are undefined).
LayerNormResult layer_norm(const Tensor& x, int64_t cols, const Tensor& weight, const Tensor& bias, float eps,
                           const char* op);
struct LayerNormGrads {
  Tensor dx, dweight, dbias;  // undefined where not asked for
};
LayerNormGrads layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                                   const Tensor& rstd, bool need_dx, bool need_dweight, bool need_dbias);

struct AttentionResult {
  Tensor out;  // q's shape
  Tensor lse;  // [heads, t]: each query row's log-sum-exp of scores, for the backward
};
/// Fused softmax(q·kᵀ·scale (+ causal mask))·v over the last two dims of q [..., t, d] and
/// k, v [..., s, d]; the leading dims (the heads) must be equal.
AttentionResult attention(const Tensor& q, const Tensor& k, const Tensor& v, float scale, bool causal, const char* op);
struct AttentionGrads {
  Tensor dq, dk, dv;
};
/// The gradients go to new tensors, or into `into`'s (of q's, k's and v's shapes, rows contiguous),
/// e.g. the three head-split views of one gradient of a packed projection.
AttentionGrads attention_backward(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor& out, const Tensor& lse, float scale, bool causal,
                                  const AttentionGrads* into = nullptr);

/// A dropout mask of `shape` on `device`: each element 1/(1 − p) with probability 1 − p, else 0,
/// drawn from `seed` by position (the same mask on every backend). 0 ≤ p < 1.
Tensor dropout_mask(const Shape& shape, Device device, float p, uint64_t seed);

// ---- checks and scalars shared with the ops layer
/// A 0-d tensor holding `value` on `like`'s device: a scalar operand for the elementwise ops
/// (broadcast against `like`). `like` must be defined (op names the caller in the error).
Tensor scalar_like(const Tensor& like, float value, const char* op);
void check_defined(const Tensor& x, const char* op);
void check_float(const Tensor& x, const char* op);
void check_same_device(const Tensor& a, const Tensor& b, const char* op);
/// Every value of the int32 tensor `indices` lies in [0, limit), else Error naming the first bad one.
void check_indices(const Tensor& indices, int64_t limit, const char* op, const char* what);

}  // namespace minidl::dispatch
