// The kernel interface: the table of functions every backend implements (kernels/cpu, kernels/cuda).
// Kernels know nothing about Tensor. They take raw pointers, element counts and strides (in
// elements, never bytes); validation, output allocation and shape logic live in core/dispatch.cpp,
// the one place that calls through this table (core/backend.cpp picks the table for a device).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/activation.h"
#include "kernels/conv_math.h"
#include "kernels/layout.h"
#include "kernels/optimizer_math.h"

namespace minidl::kernels {

/// Unary float ops, out[i] = f(in[i]). Their math is in kernels/elementwise_math.h.
enum class UnaryOp { neg, exp, log, relu, sigmoid, tanh, sqrt, square, abs, gelu, gelu_tanh, silu };

/// Binary float ops, out = f(a, b). relu/sigmoid/tanh_backward take a = the forward output y and
/// b = dy; abs/gelu/gelu_tanh/silu_backward take a = the forward input x and b = dy. Comparisons
/// (eq … ge) give masks: 1.f where the relation holds, else 0.f. max_weight is maximum's gradient
/// share of a: 1 where a > b, ½ where a = b, 0 where a < b (ties split the gradient, as PyTorch).
enum class BinaryOp {
  add,
  sub,
  mul,
  div,
  relu_backward,
  sigmoid_backward,
  tanh_backward,
  pow,
  maximum,
  minimum,
  max_weight,
  eq,
  ne,
  lt,
  le,
  gt,
  ge,
  abs_backward,
  gelu_backward,
  gelu_tanh_backward,
  silu_backward
};

/// One backend: a device's memory functions and kernels, every entry listed once below as
/// X(return type, name, (parameters)). From this list come the Backend table's function pointers
/// (below), each backend's declarations of its functions under the same names
/// (MINIDL_DECLARE_BACKEND_ENTRIES, in kernels/cpu/cpu.h and kernels/cuda/runtime.cuh) and its table
/// (MINIDL_BACKEND_TABLE): a new kernel is one line here and its definitions in kernels/cpu and
/// kernels/cuda, and a backend that lacks one fails to link. Reductions and softmax see their input as
/// a contiguous [outer, reduce, inner] array and work along the middle dimension; their outputs are
/// [outer, inner] (softmax: the input's shape).
#define MINIDL_BACKEND_ENTRIES(X)                                                                                 \
  /* ---- memory */                                                                                               \
  X(void*, allocate, (size_t bytes))                                                                              \
  X(void, deallocate, (void* ptr, size_t bytes))                                                                  \
  X(void, copy_from_host, (void* dst, const void* host_src, size_t bytes))                                        \
  X(void, copy_to_host, (void* host_dst, const void* src, size_t bytes))                                          \
  /* ---- data movement. float32 and int32 are both 4 bytes, so these move 4-byte elements and */                 \
  /* serve both dtypes: `bits` is the value's bit pattern. */                                                     \
  X(void, fill, (void* out, int64_t n, uint32_t bits))                                                            \
  /* dst[i · strides[0]] = src[i · strides[1]] for every index i of the layout's shape. */                      \
  X(void, copy, (void* dst, const void* src, const CopyLayout& layout))                                           \
  /* Row r of out = row rows[r] of in, for rows of row_elems elements (a batch gathered from a */                 \
  /* dataset); every index is valid, the caller checked. */                                                       \
  X(void, gather_rows, (void* out, const void* in, const int32_t* rows, int64_t n_rows, int64_t row_elems))       \
  /* out[o, j, i] = x[o, index(o, j, i), i] (kernels/index_math.h); every index is valid, the caller */           \
  /* checked. scatter_add is its adjoint: dx[o, r, i] = Σ_{j : index(o, j, i) = r} dy[o, j, i], dx */            \
  /* overwritten, each sum taken in order of j (deterministic on every backend, no atomics). */                   \
  X(void, gather, (float* out, const float* x, const int32_t* index, const IndexLayout& layout))                  \
  X(void, scatter_add, (float* dx, const float* dy, const int32_t* index, const IndexLayout& layout))             \
  X(void, cast_int32_to_float32, (float* out, const int32_t* in, int64_t n))                                      \
  X(void, cast_float32_to_int32, (int32_t* out, const float* in, int64_t n))                                      \
  /* ---- elementwise */                                                                                          \
  /* out[i] = f(in[i]) over n contiguous elements */                                                              \
  X(void, unary, (UnaryOp op, float* out, const float* in, int64_t n))                                            \
  /* out = f(a, b) over the broadcast layout (kernels/layout.h) */                                                \
  X(void, binary, (BinaryOp op, float* out, const float* a, const float* b, const BinaryLayout& layout))          \
  /* out = mask ≠ 0 ? a : b over the broadcast layout {out, mask, a, b} (where, masked_fill) */                 \
  X(void, where, (float* out, const float* mask, const float* a, const float* b, const WhereLayout& layout))      \
  /* ---- reductions */                                                                                           \
  X(void, sum, (float* out, const float* in, int64_t outer, int64_t reduce, int64_t inner))                       \
  /* Max and the index of its first occurrence (NaN counts as the maximum, as in PyTorch). */                     \
  X(void, max, (float* out, int32_t* indices, const float* in, int64_t outer, int64_t reduce, int64_t inner))     \
  /* dx = 0 everywhere except dx[o, indices[o, i], i] = dy[o, i]. */                                              \
  X(void, max_backward,                                                                                           \
    (float* dx, const float* dy, const int32_t* indices, int64_t outer, int64_t reduce, int64_t inner))           \
  /* Σ x[i]² over n contiguous elements, accumulated in double; read back to the host (a */                     \
  /* synchronizing reduction: gradient norms and the non-finite check of a training step). */                     \
  X(double, sum_squares, (const float* x, int64_t n))                                                             \
  /* Σ a[i]·b[i], the same way (optimizer telemetry: how aligned a gradient is with its momentum). */           \
  X(double, dot, (const float* a, const float* b, int64_t n))                                                     \
  /* ---- softmax along the middle dimension; `log` selects log_softmax */                                        \
  X(void, softmax, (float* out, const float* in, int64_t outer, int64_t reduce, int64_t inner, bool log))         \
  X(void, softmax_backward,                                                                                       \
    (float* dx, const float* y, const float* dy, int64_t outer, int64_t reduce, int64_t inner, bool log))         \
  /* ---- fused softmax + negative log-likelihood over logits [n, c] and targets [n] in [0, c): */                \
  /* loss = mean of −log softmax(logits)[row, target]; probs keeps the softmax for the backward, */             \
  /* dlogits = (probs − onehot(targets)) · dloss / n, with dloss read from device memory. */                   \
  X(void, cross_entropy_forward,                                                                                  \
    (float* loss, float* probs, const float* logits, const int32_t* targets, int64_t n, int64_t c))               \
  X(void, cross_entropy_backward,                                                                                 \
    (float* dlogits, const float* probs, const int32_t* targets, const float* dloss, int64_t n, int64_t c))       \
  /* ---- a Linear layer's epilogue over y [rows, cols], row-major and contiguous, in one pass each way: */       \
  /* z = y + bias, y = act(z) in place (bias of cols elements, or null for none); z is also written */            \
  /* to pre when pre is not null (gelu's backward reads it). */                                                   \
  X(void, bias_activation,                                                                                        \
    (float* y, float* pre, const float* bias, int64_t rows, int64_t cols, Activation act))                        \
  /* dz = dy ⊙ act'(z) from `saved`: the forward output y for relu, z for gelu (math::activation_backward; */    \
  /* dz may be dy), and dbias[c] = Σ_r dz[r, c] summed over rows in order (dbias null: not needed). */          \
  X(void, bias_activation_backward,                                                                               \
    (float* dz, float* dbias, const float* saved, const float* dy, int64_t rows, int64_t cols, Activation act))   \
  /* ---- optimizer: one step over `count` parameter tensors in one pass each (kernels/optimizer_math.h) */       \
  X(void, sgd_step, (const SgdTensor* tensors, int64_t count, const SgdHyper& hyper))                             \
  /* state: exp_avg, exp_avg_sq, max_exp_avg_sq (amsgrad; else null) */                                           \
  X(void, adam_step, (const OptimTensor* tensors, int64_t count, const AdamHyper& hyper))                         \
  /* state: square_avg, momentum_buffer (null: momentum 0), grad_avg (null: not centered); the same */            \
  /* slots for every tensor of a call */                                                                          \
  X(void, rmsprop_step, (const OptimTensor* tensors, int64_t count, const RMSpropHyper& hyper))                   \
  /* state: sum */                                                                                                \
  X(void, adagrad_step, (const OptimTensor* tensors, int64_t count, const AdagradHyper& hyper))                   \
  /* ---- C[b] = A[b] · B[b] + beta · C[b] for b < batch; A is M×K, B is K×N, C is M×N row-major with */     \
  /* ldc. beta is 0 (C is overwritten, whatever it held) or 1 (accumulate). */                                    \
  X(void, gemm,                                                                                                   \
    (int64_t batch, int64_t m, int64_t n, int64_t k, GemmOperand a, GemmOperand b, float* c, int64_t ldc,         \
     int64_t c_batch_stride, float beta))                                                                         \
  /* ---- convolution as im2col + GEMM (core/dispatch_conv.cpp composes these with gemm). x is */                 \
  /* [batch, channels, H, W] contiguous, col is [channels·kh·kw, batch·L] with L = out_h·out_w */             \
  /* (kernels/conv_math.h defines both layouts). */                                                               \
  X(void, im2col, (float* col, const float* x, int64_t batch, int64_t channels, const Window2d& w))               \
  /* dx = col2im(col), the adjoint of im2col (dx is overwritten). */                                              \
  X(void, col2im, (float* dx, const float* col, int64_t batch, int64_t channels, const Window2d& w))              \
  /* The GEMM's [channels, batch·L] result yt into the output's [batch, channels, L] layout, with */             \
  /* the bias (null: none) and the activation: y[b, o, l] = act(yt[o, b·L + l] + bias[o]). */                    \
  X(void, conv_output,                                                                                            \
    (float* y, const float* yt, const float* bias, int64_t batch, int64_t channels, int64_t l, Activation act))   \
  /* Its backward: dzt[o, b·L + l] = dy[b, o, l] ⊙ act'(y[b, o, l]) from the forward output y, and */          \
  /* dbias[o] += Σ_{b, l} dzt[o, b·L + l] (accumulated, so batches can come in chunks; null: skip). */          \
  X(void, conv_output_backward,                                                                                   \
    (float* dzt, float* dbias, const float* y, const float* dy, int64_t batch, int64_t channels, int64_t l,       \
     Activation act))                                                                                             \
  /* conv_output and max pooling in one pass (a Conv2d, its activation and a MaxPool2d fused): for */             \
  /* image b and channel o, the conv output plane is yt[o, b·L : (b + 1)·L] (L = pool.in_size()), and */        \
  /* pooled[b, o, ph, pw] = act(max over the pool window of (yt + bias[o])), indices the winner's flat */         \
  /* position in the plane. The full-size conv output is never written. */                                        \
  X(void, conv_max_pool2d,                                                                                        \
    (float* pooled, int32_t* indices, const float* yt, const float* bias, int64_t batch, int64_t channels,        \
     const Window2d& pool, Activation act))                                                                       \
  /* Its backward into the GEMM's layout: dzt[o, b·L + k] = the pooled gradient of the windows whose */          \
  /* winner is k (zero where act zeroed the pooled value), 0 elsewhere; dbias as conv_output_backward. */         \
  X(void, conv_max_pool2d_backward,                                                                               \
    (float* dzt, float* dbias, const float* pooled, const int32_t* indices, const float* dy, int64_t batch,       \
     int64_t channels, const Window2d& pool, Activation act))                                                     \
  /* ---- 2-D pooling over `planes` (N·C) contiguous planes of w.height × w.width; outputs are */               \
  /* [planes, out_h, out_w]. Max pooling keeps each winner's flat index in its input plane. */                    \
  X(void, max_pool2d, (float* out, int32_t* indices, const float* x, int64_t planes, const Window2d& w))          \
  X(void, max_pool2d_backward,                                                                                    \
    (float* dx, const float* dy, const int32_t* indices, int64_t planes, const Window2d& w))                      \
  X(void, avg_pool2d, (float* out, const float* x, int64_t planes, const Window2d& w))                            \
  X(void, avg_pool2d_backward, (float* dx, const float* dy, int64_t planes, const Window2d& w))                   \
  /* ---- batch normalization of x [n, c, inner] per channel c (docs/convolution.md derives it). */               \
  /* Training: mean and biased variance of each channel over n·inner values (which must be > 1) */               \
  /* into save_mean and save_invstd = 1/√(var + eps), and, when running_mean is not null, */                    \
  /* running = (1 − momentum)·running + momentum·batch statistic with the unbiased variance. */               \
  /* Evaluation: save_mean and save_invstd from the running statistics. Then */                                   \
  /* y = (x − mean)·invstd·weight + bias (weight/bias null: 1 and 0). */                                      \
  X(void, batch_norm_forward,                                                                                     \
    (float* y, float* save_mean, float* save_invstd, float* running_mean, float* running_var, const float* x,     \
     const float* weight, const float* bias, int64_t n, int64_t c, int64_t inner, bool training, float momentum,  \
     float eps))                                                                                                  \
  /* Gradients from the saved statistics: dweight = Σ dy·x̂, dbias = Σ dy per channel, and */                 \
  /* dx = weight·invstd·(dy − Σdy/M − x̂·Σdy·x̂/M) in training (the batch statistics depend on x), */ \
  /* dx = weight·invstd·dy in evaluation. Null outputs are skipped. */                                          \
  X(void, batch_norm_backward,                                                                                    \
    (float* dx, float* dweight, float* dbias, const float* dy, const float* x, const float* weight,               \
     const float* save_mean, const float* save_invstd, int64_t n, int64_t c, int64_t inner, bool training))       \
  /* ---- layer normalization of x [rows, cols] over each row (kernels/layer_norm_math.h): y, and the */          \
  /* row statistics mean and rstd = 1/√(var + eps) kept for the backward; weight/bias null: 1, 0 */             \
  X(void, layer_norm_forward,                                                                                     \
    (float* y, float* mean, float* rstd, const float* x, const float* weight, const float* bias, int64_t rows,    \
     int64_t cols, float eps))                                                                                    \
  /* dx (null: skipped) from the saved statistics, and dweight/dbias (null: skipped) as column sums. */           \
  X(void, layer_norm_backward,                                                                                    \
    (float* dx, float* dweight, float* dbias, const float* dy, const float* x, const float* weight,               \
     const float* mean, const float* rstd, int64_t rows, int64_t cols))                                           \
  /* ---- fused attention over batch × heads independent heads (kernels/attention_math.h), each */             \
  /* operand strided as AttentionLayout says (kernels/layout.h). The forward keeps each query row's */           \
  /* log-sum-exp for the backward; delta is the backward's scratch. dq, dk, dv are overwritten. */               \
  X(void, attention_forward,                                                                                      \
    (float* out, float* lse, const float* q, const float* k, const float* v, const AttentionLayout& layout,       \
     float scale, bool causal))                                                                                   \
  X(void, attention_backward,                                                                                     \
    (float* dq, float* dk, float* dv, float* delta, const float* dout, const float* q, const float* k,            \
     const float* v, const float* out, const float* lse, const AttentionLayout& layout, float scale,              \
     bool causal))                                                                                                \
  /* ---- dropout: mask[i] = 1/(1 − p) or 0 (kernels/conv_math.h, dropout_factor: seeded, counter-based) */     \
  X(void, dropout_mask, (float* mask, int64_t n, uint64_t seed, float p))

#define MINIDL_BACKEND_FIELD(ret, fn, params) ret(*fn) params;
struct Backend {
  const char* name;
  MINIDL_BACKEND_ENTRIES(MINIDL_BACKEND_FIELD)
};
#undef MINIDL_BACKEND_FIELD

}  // namespace minidl::kernels

/// Inside a backend's namespace: its functions, declared under the table's names.
#define MINIDL_BACKEND_DECLARATION(ret, fn, params) ret fn params;
#define MINIDL_DECLARE_BACKEND_ENTRIES() MINIDL_BACKEND_ENTRIES(MINIDL_BACKEND_DECLARATION)

/// Inside a backend's namespace: its table, every entry under its name.
#define MINIDL_BACKEND_ASSIGNMENT(ret, fn, params) table.fn = fn;
#define MINIDL_BACKEND_TABLE(backend_name)            \
  [] {                                                \
    ::minidl::kernels::Backend table{};               \
    table.name = backend_name;                        \
    MINIDL_BACKEND_ENTRIES(MINIDL_BACKEND_ASSIGNMENT) \
    return table;                                     \
  }()
