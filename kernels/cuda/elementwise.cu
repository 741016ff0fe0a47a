// Elementwise kernels: each op's math is the functor of kernels/elementwise_math.h that the CPU
// loops run too; math::visit turns the runtime op into a template argument once per launch.
// Binary ops take the strided layout by value (broadcasting is stride 0); a layout that coalesced to
// one contiguous dimension takes the fast path without index arithmetic.
#include "kernels/cuda/runtime.cuh"
#include "kernels/elementwise_math.h"
#include "kernels/layout.h"

namespace minidl::kernels::cuda {

namespace {

template <class F>
__global__ void unary_kernel(float* out, const float* in, int64_t n, F f) {
  MINIDL_GRID_LOOP(i, n) out[i] = f(in[i]);
}

template <class F>
__global__ void binary_contiguous_kernel(float* out, const float* a, const float* b, int64_t n, F f) {
  MINIDL_GRID_LOOP(i, n) out[i] = f(a[i], b[i]);
}

// b is one value repeated (x + 1, x · scale): the commonest broadcast.
template <class F>
__global__ void binary_scalar_b_kernel(float* out, const float* a, const float* b, int64_t n, F f) {
  const float v = *b;
  MINIDL_GRID_LOOP(i, n) out[i] = f(a[i], v);
}

template <class F>
__global__ void binary_strided_kernel(float* out, const float* a, const float* b, BinaryLayout layout, int64_t n, F f) {
  MINIDL_GRID_LOOP(i, n) {
    int64_t offset[3];
    offsets_at(layout, i, offset);
    out[offset[0]] = f(a[offset[1]], b[offset[2]]);
  }
}

__global__ void where_kernel(float* out, const float* mask, const float* a, const float* b, WhereLayout layout,
                             int64_t n) {
  MINIDL_GRID_LOOP(i, n) {
    int64_t offset[4];
    offsets_at(layout, i, offset);
    out[offset[0]] = math::select(mask[offset[1]], a[offset[2]], b[offset[3]]);
  }
}

// z = y[r, c] + bias[c] (bias null: none), pre[r, c] = z (pre null: not kept), y[r, c] = act(z).
__global__ void bias_activation_kernel(float* y, float* pre, const float* bias, int64_t rows, int64_t cols,
                                       Activation act) {
  MINIDL_GRID_LOOP(i, rows * cols) {
    float v = y[i];
    if (bias) v = math::Add{}(v, bias[i % cols]);
    if (pre) pre[i] = v;
    y[i] = math::activation_forward(act, v);
  }
}

__global__ void activation_backward_kernel(float* dz, const float* saved, const float* dy, int64_t n,
                                           Activation act) {
  MINIDL_GRID_LOOP(i, n) dz[i] = math::activation_backward(act, saved[i], dy[i]);
}

// dz = dy ⊙ act' (from saved) and dbias[c] = Σ_r dz[r, c] in one pass. A block owns 32 columns (one per lane,
// so each row's read is coalesced) and its 8 warps take every 8th row; the 8 partial sums per column
// are added in warp order, so the result is the same on every run.
constexpr int kColumns = 32, kRowGroups = 8;
__global__ void bias_activation_backward_kernel(float* dz, float* dbias, const float* saved, const float* dy,
                                                int64_t rows, int64_t cols, Activation act) {
  __shared__ float partial[kRowGroups][kColumns];
  const int lane = threadIdx.x % kColumns, group = threadIdx.x / kColumns;
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kColumns + lane;
  float sum = 0.f;
  if (c < cols) {
    for (int64_t r = group; r < rows; r += kRowGroups) {
      const int64_t i = r * cols + c;
      const float g = math::activation_backward(act, act == Activation::none ? 0.f : saved[i], dy[i]);
      if (act != Activation::none || dz != dy) dz[i] = g;
      sum += g;
    }
  }
  partial[group][lane] = sum;
  __syncthreads();
  if (group == 0 && c < cols) {
    float total = partial[0][lane];
    for (int k = 1; k < kRowGroups; ++k) total += partial[k][lane];
    dbias[c] = total;
  }
}

}  // namespace

void unary(UnaryOp op, float* out, const float* in, int64_t n) {
  math::visit(op, [&](auto f) {
    unary_kernel<<<grid_for(n), kThreads, 0, stream()>>>(out, in, n, f);
    MINIDL_CUDA_CHECK_LAUNCH(unary_kernel);
  });
}

void binary(BinaryOp op, float* out, const float* a, const float* b, const BinaryLayout& layout) {
  const int64_t n = numel(layout);
  if (n == 0) return;
  const bool one_dim = layout.ndim == 1 && layout.strides[0][0] == 1;
  math::visit(op, [&](auto f) {
    if (one_dim && layout.strides[1][0] == 1 && layout.strides[2][0] == 1) {
      binary_contiguous_kernel<<<grid_for(n), kThreads, 0, stream()>>>(out, a, b, n, f);
      MINIDL_CUDA_CHECK_LAUNCH(binary_contiguous_kernel);
    } else if (one_dim && layout.strides[1][0] == 1 && layout.strides[2][0] == 0) {
      binary_scalar_b_kernel<<<grid_for(n), kThreads, 0, stream()>>>(out, a, b, n, f);
      MINIDL_CUDA_CHECK_LAUNCH(binary_scalar_b_kernel);
    } else {
      binary_strided_kernel<<<grid_for(n), kThreads, 0, stream()>>>(out, a, b, layout, n, f);
      MINIDL_CUDA_CHECK_LAUNCH(binary_strided_kernel);
    }
  });
}

void where(float* out, const float* mask, const float* a, const float* b, const WhereLayout& layout) {
  const int64_t n = numel(layout);
  if (n == 0) return;
  where_kernel<<<grid_for(n), kThreads, 0, stream()>>>(out, mask, a, b, layout, n);
  MINIDL_CUDA_CHECK_LAUNCH(where_kernel);
}

void bias_activation(float* y, float* pre, const float* bias, int64_t rows, int64_t cols, Activation act) {
  if (!bias && !pre && act == Activation::none) return;
  bias_activation_kernel<<<grid_for(rows * cols), kThreads, 0, stream()>>>(y, pre, bias, rows, cols, act);
  MINIDL_CUDA_CHECK_LAUNCH(bias_activation_kernel);
}

void bias_activation_backward(float* dz, float* dbias, const float* saved, const float* dy, int64_t rows,
                              int64_t cols, Activation act) {
  if (dbias) {
    if (cols == 0) return;
    const unsigned blocks = static_cast<unsigned>((cols + kColumns - 1) / kColumns);
    bias_activation_backward_kernel<<<blocks, kColumns * kRowGroups, 0, stream()>>>(dz, dbias, saved, dy, rows, cols,
                                                                                    act);
    MINIDL_CUDA_CHECK_LAUNCH(bias_activation_backward_kernel);
  } else if (act != Activation::none && rows * cols > 0) {
    activation_backward_kernel<<<grid_for(rows * cols), kThreads, 0, stream()>>>(dz, saved, dy, rows * cols, act);
    MINIDL_CUDA_CHECK_LAUNCH(activation_backward_kernel);
  } else if (dz != dy && rows * cols > 0) {
    MINIDL_CUDA_CHECK(
        cudaMemcpyAsync(dz, dy, static_cast<size_t>(rows * cols) * sizeof(float), cudaMemcpyDeviceToDevice, stream()));
  }
}

}  // namespace minidl::kernels::cuda
