// The fused optimizer steps: every parameter tensor of a group updated by one launch, each element
// by its optimizer's function in kernels/optimizer_math.h (math::sgd_update, adam_update,
// rmsprop_update, adagrad_update), the very functions the CPU backend runs.
//
// The tensors travel in the launch's parameter block: up to kPerLaunch descriptors and the prefix
// sums of their sizes. Threads walk the concatenation of all the tensors with a grid-stride loop and
// find their tensor by those offsets (math::chunk_tensor), so small biases and large weights
// share one launch. A group of more tensors takes ceil(count / kPerLaunch) launches. Per-tensor
// scalars (Adam's bias corrections, Adagrad's decayed lr) were computed on the host, once per tensor.
#include "kernels/cuda/runtime.cuh"
#include "kernels/optimizer_math.h"

namespace minidl::kernels::cuda {

namespace {

// ---- kernels

__global__ void sgd_step_kernel(math::SgdChunk chunk, SgdHyper hyper) {
  int k = 0;
  MINIDL_GRID_LOOP(i, chunk.start[chunk.count]) {
    k = math::sgd_chunk_tensor(chunk, i, k);
    const SgdTensor& t = chunk.tensors[k];
    const int64_t e = i - chunk.start[k];
    math::sgd_update(t.param[e], t.grad[e], t.buffer ? t.buffer + e : nullptr, t.first, hyper);
  }
}

__global__ void adam_step_kernel(math::TensorChunk<OptimTensor> chunk, AdamHyper hyper) {
  int k = 0;
  MINIDL_GRID_LOOP(i, chunk.start[chunk.count]) {
    k = math::chunk_tensor(chunk, i, k);
    const OptimTensor& t = chunk.tensors[k];
    const int64_t e = i - chunk.start[k];
    math::adam_update(t.param[e], t.grad[e], t.state[0][e], t.state[1][e], t.state[2] ? t.state[2] + e : nullptr, hyper,
                      t.step_size, t.correction);
  }
}

__global__ void rmsprop_step_kernel(math::TensorChunk<OptimTensor> chunk, RMSpropHyper hyper) {
  int k = 0;
  MINIDL_GRID_LOOP(i, chunk.start[chunk.count]) {
    k = math::chunk_tensor(chunk, i, k);
    const OptimTensor& t = chunk.tensors[k];
    const int64_t e = i - chunk.start[k];
    math::rmsprop_update(t.param[e], t.grad[e], t.state[0][e], t.state[1] ? t.state[1] + e : nullptr,
                         t.state[2] ? t.state[2] + e : nullptr, hyper);
  }
}

__global__ void adagrad_step_kernel(math::TensorChunk<OptimTensor> chunk, AdagradHyper hyper) {
  int k = 0;
  MINIDL_GRID_LOOP(i, chunk.start[chunk.count]) {
    k = math::chunk_tensor(chunk, i, k);
    const OptimTensor& t = chunk.tensors[k];
    const int64_t e = i - chunk.start[k];
    math::adagrad_update(t.param[e], t.grad[e], t.state[0][e], hyper, t.step_size);
  }
}

// One launch per kPerLaunch tensors.
template <class T, class Launch>
void in_chunks(const T* tensors, int64_t count, Launch&& launch) {
  for (int64_t first = 0; first < count; first += math::TensorChunk<T>::kPerLaunch) {
    const auto chunk =
        math::make_chunk(tensors + first, std::min<int64_t>(count - first, math::TensorChunk<T>::kPerLaunch));
    const int64_t n = chunk.start[chunk.count];
    if (n > 0) launch(chunk, n);
  }
}

}  // namespace

// ---- launchers

void sgd_step(const SgdTensor* tensors, int64_t count, const SgdHyper& hyper) {
  in_chunks(tensors, count, [&](const math::SgdChunk& chunk, int64_t n) {
    sgd_step_kernel<<<grid_for(n), kThreads, 0, stream()>>>(chunk, hyper);
    MINIDL_CUDA_CHECK_LAUNCH(sgd_step_kernel);
  });
}

void adam_step(const OptimTensor* tensors, int64_t count, const AdamHyper& hyper) {
  in_chunks(tensors, count, [&](const math::TensorChunk<OptimTensor>& chunk, int64_t n) {
    adam_step_kernel<<<grid_for(n), kThreads, 0, stream()>>>(chunk, hyper);
    MINIDL_CUDA_CHECK_LAUNCH(adam_step_kernel);
  });
}

void rmsprop_step(const OptimTensor* tensors, int64_t count, const RMSpropHyper& hyper) {
  in_chunks(tensors, count, [&](const math::TensorChunk<OptimTensor>& chunk, int64_t n) {
    rmsprop_step_kernel<<<grid_for(n), kThreads, 0, stream()>>>(chunk, hyper);
    MINIDL_CUDA_CHECK_LAUNCH(rmsprop_step_kernel);
  });
}

void adagrad_step(const OptimTensor* tensors, int64_t count, const AdagradHyper& hyper) {
  in_chunks(tensors, count, [&](const math::TensorChunk<OptimTensor>& chunk, int64_t n) {
    adagrad_step_kernel<<<grid_for(n), kThreads, 0, stream()>>>(chunk, hyper);
    MINIDL_CUDA_CHECK_LAUNCH(adagrad_step_kernel);
  });
}

}  // namespace minidl::kernels::cuda
