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

// ---- each optimizer's element: its math, and the name its launch errors give

struct SgdElement {
  static constexpr const char* kName = "sgd_step_kernel";
  __device__ void operator()(const SgdTensor& t, int64_t e, const SgdHyper& hyper) const {
    math::sgd_update(t.param[e], t.grad[e], t.buffer ? t.buffer + e : nullptr, t.first, hyper);
  }
};

struct AdamElement {
  static constexpr const char* kName = "adam_step_kernel";
  __device__ void operator()(const OptimTensor& t, int64_t e, const AdamHyper& hyper) const {
    math::adam_update(t.param[e], t.grad[e], t.state[0][e], t.state[1][e], t.state[2] ? t.state[2] + e : nullptr, hyper,
                      t.step_size, t.correction);
  }
};

struct RMSpropElement {
  static constexpr const char* kName = "rmsprop_step_kernel";
  __device__ void operator()(const OptimTensor& t, int64_t e, const RMSpropHyper& hyper) const {
    math::rmsprop_update(t.param[e], t.grad[e], t.state[0][e], t.state[1] ? t.state[1] + e : nullptr,
                         t.state[2] ? t.state[2] + e : nullptr, hyper);
  }
};

struct AdagradElement {
  static constexpr const char* kName = "adagrad_step_kernel";
  __device__ void operator()(const OptimTensor& t, int64_t e, const AdagradHyper& hyper) const {
    math::adagrad_update(t.param[e], t.grad[e], t.state[0][e], hyper, t.step_size);
  }
};

// ---- one kernel and one launcher for them all

// A grid-stride walk over the concatenation of a chunk's tensors, Element's update on each element.
template <class Element, class T, class Hyper>
__global__ void step_kernel(math::TensorChunk<T> chunk, Hyper hyper) {
  int k = 0;
  MINIDL_GRID_LOOP(i, chunk.start[chunk.count]) {
    k = math::chunk_tensor(chunk, i, k);
    Element{}(chunk.tensors[k], i - chunk.start[k], hyper);
  }
}

// One launch per kPerLaunch tensors.
template <class Element, class T, class Hyper>
void launch_steps(const T* tensors, int64_t count, const Hyper& hyper) {
  for (int64_t first = 0; first < count; first += math::TensorChunk<T>::kPerLaunch) {
    const auto chunk =
        math::make_chunk(tensors + first, std::min<int64_t>(count - first, math::TensorChunk<T>::kPerLaunch));
    const int64_t n = chunk.start[chunk.count];
    if (n == 0) continue;
    step_kernel<Element><<<grid_for(n), kThreads, 0, stream()>>>(chunk, hyper);
    check_launch(Element::kName, __FILE__, __LINE__);
  }
}

}  // namespace

// ---- the kernel table's entries

void sgd_step(const SgdTensor* tensors, int64_t count, const SgdHyper& hyper) {
  launch_steps<SgdElement>(tensors, count, hyper);
}
void adam_step(const OptimTensor* tensors, int64_t count, const AdamHyper& hyper) {
  launch_steps<AdamElement>(tensors, count, hyper);
}
void rmsprop_step(const OptimTensor* tensors, int64_t count, const RMSpropHyper& hyper) {
  launch_steps<RMSpropElement>(tensors, count, hyper);
}
void adagrad_step(const OptimTensor* tensors, int64_t count, const AdagradHyper& hyper) {
  launch_steps<AdagradElement>(tensors, count, hyper);
}

}  // namespace minidl::kernels::cuda
