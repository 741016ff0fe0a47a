// Layers and losses as plain functions: linear, conv2d, pooling, dropout, batch_norm, and the
// losses mse_loss and cross_entropy (which average over the batch, PyTorch's reduction='mean').
// Each is one differentiable op; the layers in nn/ hold their parameters and call these.
// Images are NCHW: N = batch, C = channels, H × W = height × width.
#pragma once

#include <minidl/core/generator.h>
#include <minidl/core/tensor.h>
#include <minidl/kernels/activation.h>

#include <vector>

namespace minidl::nn::functional {

using kernels::Activation;

// ---- convolution (nn/conv2d.cpp; docs/convolution.md derives it)

/// PyTorch's Conv2d arguments (square: the same value for height and width).
struct Conv2dOptions {
  int64_t stride = 1, padding = 0, dilation = 1, groups = 1;
};

/// y = conv2d(x, weight) + bias for x [N, C, H, W], weight [O, C/groups, kH, kW] and bias [O] (or
/// Tensor()): y [N, O, H', W'] with H' = (H + 2·padding − dilation·(kH − 1) − 1)/stride + 1, W' alike:
///   y[n, o, h, w] = bias[o] + Σ_{c in o's group, i, j} weight[o, c, i, j] · x[n, c, h·s − p + i·d, w·s − p + j·d]
/// computed as im2col + GEMM; the backward's weight gradient is a GEMM with the same columns and its
/// input gradient is col2im of weightᵀ·dy. With `act` = relu, the ReLU is fused into the output pass.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Conv2dOptions options = {});
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Conv2dOptions options, Activation act);

// ---- pooling (nn/pooling.cpp)

/// A square window: kernel_size, stride (0 means kernel_size, PyTorch's default) and zero padding of
/// at most kernel_size / 2.
struct Pool2dOptions {
  int64_t kernel_size;
  int64_t stride = 0;
  int64_t padding = 0;
};

/// Max over each window of x [N, C, H, W] or [C, H, W]. The backward routes each gradient to the
/// window's maximum (the first one on ties, as PyTorch).
Tensor max_pool2d(const Tensor& x, Pool2dOptions options);
/// Mean over each window, padding counted as zeros (PyTorch's count_include_pad = true).
Tensor avg_pool2d(const Tensor& x, Pool2dOptions options);

/// conv2d, the activation and max_pool2d as one op: the values and gradients of the three, bit for
/// bit, without storing the convolution's full-size output (the pooling reads the GEMM's result
/// while it is in cache, and the backward writes the GEMM-layout gradient directly). Sequential runs
/// Conv2d + ReLU + MaxPool2d (and Conv2d + MaxPool2d) this way.
Tensor conv2d_max_pool2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Conv2dOptions conv, Activation act,
                         Pool2dOptions pool);

// ---- regularization and normalization (nn/dropout.cpp, nn/batch_norm.cpp)

/// Inverted dropout: in training, each element is zeroed with probability p and the rest scaled by
/// 1/(1 − p), so the expected value is unchanged and evaluation needs no rescaling; the mask is drawn
/// from `gen` (one draw per call), so a seeded run repeats. Not training, or p = 0: x itself.
/// p must be in [0, 1).
Tensor dropout(const Tensor& x, float p, bool training, Generator& gen);

/// Batch normalization of x [N, C] or [N, C, …] per channel C:
///   y = (x − mean) / √(var + eps) · weight + bias
/// Training: mean and var are the batch's (biased variance), and running_mean/running_var, when
/// defined, are updated in place as PyTorch does: running = (1 − momentum)·running + momentum·stat,
/// with the unbiased variance. Evaluation: the running statistics. weight and bias may be Tensor().
Tensor batch_norm(const Tensor& x, Tensor& running_mean, Tensor& running_var, const Tensor& weight, const Tensor& bias,
                  bool training, float momentum = 0.1f, float eps = 1e-5f);

// ---- linear layers and losses (nn/functional.cpp)

/// y = act(x·weightᵀ + bias) for x [B, in] (or [N, B, in]), weight [out, in], bias [out] or
/// undefined: a Linear layer, optionally with its ReLU or exact GELU, as one op. Same values as
/// matmul + add + relu (or gelu), in fewer passes:
///   forward:  one GEMM into y, then bias and activation in one pass over y (GELU keeps
///             z = x·weightᵀ + bias too: its derivative Φ(z) + z·φ(z) reads it)
///   backward: one pass gives dz = dy ⊙ act' and dbias = Σ_rows dz; then
///             dweight = dzᵀ·x, computed straight into weight's [out, in] layout, and
///             dx = dz·weight only when x requires grad (never for an input batch).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Activation act = Activation::none);

/// mean((pred − target)²) over all elements; pred and target must have the same shape.
Tensor mse_loss(const Tensor& pred, const Tensor& target);

/// Mean over rows of −log softmax(logits)[row, target[row]] for logits [N, C] and int32 class
/// indices [N] in [0, C). One fused, numerically stable op whose backward is (softmax − onehot) / N.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets);

/// PyTorch's cross_entropy options: rows whose target is ignore_index count neither in the loss nor
/// in the mean (the mean is over the other rows; all rows ignored gives NaN, as PyTorch), and
/// label_smoothing ε in [0, 1] mixes the one-hot target with the uniform distribution:
///   loss_row = (1 − ε)·(−log p_target) + ε·mean_c(−log p_c)
struct CrossEntropyOptions {
  int64_t ignore_index = -100;
  float label_smoothing = 0.f;
};
/// cross_entropy with options: logits [N, C] (or [N, T, C], then targets [N, T]), int32 targets.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, CrossEntropyOptions options);

// ---- language models (nn/functional_lm.cpp, nn/attention.cpp; docs/language-models.md)

/// Rows of weight [V, C] picked by int32 indices of any shape: out = weight[indices], of shape
/// indices.shape + [C]. dweight is the scatter-add of dout into the rows used (repeats add up),
/// deterministic. Indices outside [0, V) throw.
Tensor embedding(const Tensor& indices, const Tensor& weight);
/// Normalizes x over its trailing dims `normalized_shape` (torch.nn.functional.layer_norm):
///   y = (x − μ) / √(σ² + eps) · weight + bias,  μ, σ² the mean and biased variance of each group;
/// weight and bias of normalized_shape, or undefined. One fused op whose backward reuses the
/// forward's per-row μ and 1/√(σ² + eps).
Tensor layer_norm(const Tensor& x, std::vector<int64_t> normalized_shape, const Tensor& weight, const Tensor& bias,
                  float eps = 1e-5f);
/// GELU: x·Φ(x) with Φ the standard normal CDF (exact, through erfc), or with
/// tanh_approximation, ½x(1 + tanh(√(2/π)(x + 0.044715x³))) (PyTorch's approximate='tanh').
Tensor gelu(const Tensor& x, bool tanh_approximation = false);
/// SiLU (swish): x·σ(x).
Tensor silu(const Tensor& x);
/// softmax(q·kᵀ/√D + mask)·v for q [..., T, D], k and v [..., S, D] (the leading dims equal), with
/// the causal mask hiding key j > query i when is_causal. Fused: a CPU thread holds the scores of
/// one block of 16 query rows at a time (a CUDA thread one query row's, with an online softmax), so
/// no [T, S] score matrix is ever stored; the backward recomputes a block's scores from q, k and
/// the rows' saved log-sum-exp. q, k and v are read in place when their rows are contiguous.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, bool is_causal = false);
/// Multi-head self-attention of a packed projection qkv [B, T, 3·C] (q, k and v side by side, as
/// one Linear(C, 3·C) makes them) with `heads` heads of D = C/heads, as one op. Equal to
///   q, k, v = split(qkv, C, 2), each viewed [B, T, heads, D] and transposed to [B, heads, T, D]
///   y = scaled_dot_product_attention(q, k, v, is_causal).transpose(1, 2).reshape({B, T, C})
/// without copies: the kernel reads the heads where they lie in qkv, writes y in [B, T, C], and
/// its backward writes d(qkv) as one [B, T, 3·C] tensor (the spelled-out form's split backward
/// would zero-fill and add three of them).
Tensor self_attention(const Tensor& qkv, int64_t heads, bool is_causal = false);

}  // namespace minidl::nn::functional
