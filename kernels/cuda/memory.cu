// Device memory and data movement: cudaMalloc/cudaFree behind core's caching allocator, copies to
// and from the host, fills, strided copies (the layout decoded per element, kernels/layout.h), row
// gathers and dtype casts. Elements move as 4-byte words: one kernel serves float32 and int32.
//
// Host → device goes through two pinned staging buffers used in turn: the caller's memory is
// copied into one (so the caller may free or reuse it at once) and the DMA from it is queued on the
// stream, so uploading the next batch overlaps the kernels still running on this one. A buffer is
// reused only after the event recorded behind its last copy has passed.
#include <cstring>
#include <mutex>

#include "kernels/cuda/runtime.cuh"
#include "kernels/elementwise_math.h"
#include "kernels/layout.h"

namespace minidl::kernels::cuda {

namespace {

constexpr size_t kStagingBytes = size_t{4} << 20;

struct Staging {
  std::mutex mu;
  void* buffer[2] = {};
  cudaEvent_t done[2] = {};
  int next = 0;
};

Staging& staging() {
  static std::mutex mu;
  static Staging* per_device[kMaxDevices] = {};  // never freed, like the rest of the device state
  const int device = current_device();
  std::lock_guard lock(mu);
  Staging*& s = per_device[device];
  if (!s) {
    auto* fresh = new Staging;
    for (int k = 0; k < 2; ++k) {
      MINIDL_CUDA_CHECK(cudaMallocHost(&fresh->buffer[k], kStagingBytes));
      MINIDL_CUDA_CHECK(cudaEventCreateWithFlags(&fresh->done[k], cudaEventDisableTiming));
    }
    s = fresh;
  }
  return *s;
}

__global__ void fill_kernel(uint32_t* out, int64_t n, uint32_t bits) { MINIDL_GRID_LOOP(i, n) out[i] = bits; }

__global__ void copy_kernel(uint32_t* dst, const uint32_t* src, CopyLayout layout, int64_t n) {
  MINIDL_GRID_LOOP(i, n) {
    int64_t offset[2];
    offsets_at(layout, i, offset);
    dst[offset[0]] = src[offset[1]];
  }
}

__global__ void gather_rows_kernel(uint32_t* out, const uint32_t* in, const int32_t* rows, int64_t n,
                                   int64_t row_elems) {
  MINIDL_GRID_LOOP(i, n) out[i] = in[rows[i / row_elems] * row_elems + i % row_elems];
}

__global__ void int_to_float_kernel(float* out, const int32_t* in, int64_t n) {
  MINIDL_GRID_LOOP(i, n) out[i] = static_cast<float>(in[i]);
}

// Truncation toward zero like the CPU's static_cast; NaN and out-of-range values become 0 and the
// nearest int32 (the CPU backend's rule, so results do not depend on the device).
__global__ void float_to_int_kernel(int32_t* out, const float* in, int64_t n) {
  MINIDL_GRID_LOOP(i, n) out[i] = math::float_to_int32(in[i]);
}

}  // namespace

void* allocate(size_t bytes) {
  if (bytes == 0) return nullptr;
  void* p = nullptr;
  const cudaError_t status = cudaMalloc(&p, bytes);
  if (status == cudaErrorMemoryAllocation) {  // the allocator empties its cache and tries once more
    cudaGetLastError();
    return nullptr;
  }
  MINIDL_CUDA_CHECK(status);
  count_malloc();
  return p;
}

// Called from Storage's destructor, which must not throw: at process exit the runtime may already
// be unloading (cudaErrorCudartUnloading), and any earlier fault was reported where it happened.
void deallocate(void* ptr, size_t) {
  if (ptr && cudaFree(ptr) != cudaSuccess) cudaGetLastError();
}

void copy_from_host(void* dst, const void* host_src, size_t bytes) {
  Staging& s = staging();
  std::lock_guard lock(s.mu);
  for (size_t done = 0; done < bytes;) {
    const size_t chunk = std::min(kStagingBytes, bytes - done);
    const int k = s.next;
    s.next ^= 1;
    MINIDL_CUDA_CHECK(cudaEventSynchronize(s.done[k]));  // its previous upload has left the buffer
    std::memcpy(s.buffer[k], static_cast<const char*>(host_src) + done, chunk);
    MINIDL_CUDA_CHECK(
        cudaMemcpyAsync(static_cast<char*>(dst) + done, s.buffer[k], chunk, cudaMemcpyHostToDevice, stream()));
    MINIDL_CUDA_CHECK(cudaEventRecord(s.done[k], stream()));
    done += chunk;
  }
}

// Waits for the queued work that produces `src`: a value read back is the one program order says.
void copy_to_host(void* host_dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  MINIDL_CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream()));
  MINIDL_CUDA_CHECK(cudaStreamSynchronize(stream()));
}

void fill(void* out, int64_t n, uint32_t bits) {
  fill_kernel<<<grid_for(n), kThreads, 0, stream()>>>(static_cast<uint32_t*>(out), n, bits);
  MINIDL_CUDA_CHECK_LAUNCH(fill_kernel);
}

void copy(void* dst, const void* src, const CopyLayout& layout) {
  const int64_t n = numel(layout);
  if (n == 0) return;
  if (layout.ndim == 0 || (layout.ndim == 1 && layout.strides[0][0] == 1 && layout.strides[1][0] == 1)) {
    MINIDL_CUDA_CHECK(cudaMemcpyAsync(dst, src, static_cast<size_t>(n) * 4, cudaMemcpyDeviceToDevice, stream()));
    return;
  }
  copy_kernel<<<grid_for(n), kThreads, 0, stream()>>>(static_cast<uint32_t*>(dst), static_cast<const uint32_t*>(src),
                                                      layout, n);
  MINIDL_CUDA_CHECK_LAUNCH(copy_kernel);
}

void gather_rows(void* out, const void* in, const int32_t* rows, int64_t n_rows, int64_t row_elems) {
  const int64_t n = n_rows * row_elems;
  if (n == 0) return;
  gather_rows_kernel<<<grid_for(n), kThreads, 0, stream()>>>(static_cast<uint32_t*>(out),
                                                             static_cast<const uint32_t*>(in), rows, n, row_elems);
  MINIDL_CUDA_CHECK_LAUNCH(gather_rows_kernel);
}

void cast_int32_to_float32(float* out, const int32_t* in, int64_t n) {
  int_to_float_kernel<<<grid_for(n), kThreads, 0, stream()>>>(out, in, n);
  MINIDL_CUDA_CHECK_LAUNCH(int_to_float_kernel);
}

void cast_float32_to_int32(int32_t* out, const float* in, int64_t n) {
  float_to_int_kernel<<<grid_for(n), kThreads, 0, stream()>>>(out, in, n);
  MINIDL_CUDA_CHECK_LAUNCH(float_to_int_kernel);
}

}  // namespace minidl::kernels::cuda
