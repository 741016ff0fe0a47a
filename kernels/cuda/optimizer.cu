// The fused SGD-family step: every parameter tensor of a group updated by one launch, each element
// by math::sgd_update (kernels/optimizer_math.h), the very function the CPU backend runs.
//
// The tensors travel in the launch's parameter block: up to kPerLaunch descriptors and the prefix
// sums of their sizes. Threads walk the concatenation of all the tensors with a grid-stride loop and
// find their tensor by those offsets (math::sgd_chunk_tensor), so small biases and large weights
// share one launch. A group of more tensors takes ceil(count / kPerLaunch) launches.
#include "kernels/cuda/runtime.cuh"
#include "kernels/optimizer_math.h"

namespace minidl::kernels::cuda {

namespace {

__global__ void sgd_step_kernel(math::SgdChunk chunk, SgdHyper hyper) {
  int k = 0;
  MINIDL_GRID_LOOP(i, chunk.start[chunk.count]) {
    k = math::sgd_chunk_tensor(chunk, i, k);
    const SgdTensor& t = chunk.tensors[k];
    const int64_t e = i - chunk.start[k];
    math::sgd_update(t.param[e], t.grad[e], t.buffer ? t.buffer + e : nullptr, t.first, hyper);
  }
}

}  // namespace

void sgd_step(const SgdTensor* tensors, int64_t count, const SgdHyper& hyper) {
  for (int64_t first = 0; first < count; first += math::SgdChunk::kPerLaunch) {
    const math::SgdChunk chunk = math::make_sgd_chunk(tensors + first, std::min<int64_t>(count - first,
                                                                                          math::SgdChunk::kPerLaunch));
    const int64_t n = chunk.start[chunk.count];
    if (n == 0) continue;
    sgd_step_kernel<<<grid_for(n), kThreads, 0, stream()>>>(chunk, hyper);
    MINIDL_CUDA_CHECK_LAUNCH(sgd_step_kernel);
  }
}

}  // namespace minidl::kernels::cuda
