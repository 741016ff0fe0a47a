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
/// Every element of contiguous `dst` set to value (converted to dst's dtype).
void fill(const Tensor& dst, float value);

// ---- elementwise (float32; binary ops broadcast)
Tensor unary(UnaryOp kind, const Tensor& x, const char* op);
Tensor binary(BinaryOp kind, const Tensor& a, const Tensor& b, const char* op);
/// out = kind(a, b) into an existing tensor of the broadcast shape; out may be a or b (in place).
void binary_into(BinaryOp kind, const Tensor& out, const Tensor& a, const Tensor& b, const char* op);

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
Tensor max_backward(const Tensor& dy, const Tensor& indices, const Shape& x_shape, int64_t dim, bool keepdim);
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
/// or undefined.
void bias_activation_(const Tensor& y, const Tensor& bias, kernels::Activation act, const char* op);
/// dz = dy ⊙ act'(y) (a new tensor, or dy itself when there is no activation); *dbias, when
/// dbias is not null, receives Σ_rows dz.
Tensor bias_activation_backward(const Tensor& y, const Tensor& dy, kernels::Activation act, Tensor* dbias,
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

// ---- checks shared with the ops layer
void check_defined(const Tensor& x, const char* op);
void check_float(const Tensor& x, const char* op);
void check_same_device(const Tensor& a, const Tensor& b, const char* op);
/// Every value of the int32 tensor `indices` lies in [0, limit), else Error naming the first bad one.
void check_indices(const Tensor& indices, int64_t limit, const char* op, const char* what);

}  // namespace minidl::dispatch
