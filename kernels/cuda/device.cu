// Devices, streams, cuBLAS handles and the backend table. State is per device and created on first
// use (cuBLAS itself is loaded then: cublas_loader.h): a stream, a cuBLAS handle bound to it with a workspace we
// allocate (so cuBLAS makes no cudaMalloc of its own later), scratch memory for reductions, and a pinned result buffer.
#include <array>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

#include "kernels/cuda/cublas_loader.h"
#include "kernels/cuda/cuda.h"
#include "kernels/cuda/runtime.cuh"

namespace minidl::kernels::cuda {

namespace {

// cuBLAS's own default on Hopper; set explicitly so the handle never allocates behind our back.
constexpr size_t kBlasWorkspaceBytes = size_t{32} << 20;

std::atomic<int64_t> g_malloc_calls{0};

struct DeviceState {
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
  void* scratch = nullptr;
  size_t scratch_bytes = 0;
  double* pinned_result = nullptr;
};

std::array<DeviceState*, kMaxDevices> g_states{};
std::mutex g_states_mu;
thread_local int t_current = -1;              // this thread's current device, as far as minidl set it
thread_local DeviceState* t_state = nullptr;  // and its state

struct Availability {
  int count = 0;
  std::string reason;
};

const Availability& availability() {
  static const Availability a = [] {
    Availability r;
    const cudaError_t status = cudaGetDeviceCount(&r.count);
    if (status != cudaSuccess) {
      cudaGetLastError();  // not sticky: clear it so later calls do not report it again
      r.count = 0;
      r.reason = std::string("cudaGetDeviceCount: ") + cudaGetErrorString(status);
    } else if (r.count == 0) {
      r.reason = "cudaGetDeviceCount found no CUDA device";
    }
    r.count = std::min(r.count, kMaxDevices);
    return r;
  }();
  return a;
}

DeviceState& state_of(int index) {
  std::lock_guard lock(g_states_mu);
  DeviceState*& s = g_states[static_cast<size_t>(index)];
  if (!s) {
    auto* fresh = new DeviceState;  // never freed: storages may be released during static destruction
    MINIDL_CUDA_CHECK(cudaStreamCreateWithFlags(&fresh->stream, cudaStreamNonBlocking));
    const Cublas& blas = cublas();  // loaded here, with the first GPU (cublas_loader.h)
    MINIDL_CUBLAS_CHECK(blas.create(&fresh->blas));
    MINIDL_CUBLAS_CHECK(blas.set_stream(fresh->blas, fresh->stream));
    // Plain FP32 (no TF32 tensor-core rounding), so GEMMs agree with the CPU backend to FP32 accuracy.
    MINIDL_CUBLAS_CHECK(blas.set_math_mode(fresh->blas, CUBLAS_DEFAULT_MATH));
    MINIDL_CUBLAS_CHECK(
        blas.set_workspace(fresh->blas, device_malloc(kBlasWorkspaceBytes, "cuBLAS workspace"), kBlasWorkspaceBytes));
    MINIDL_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&fresh->pinned_result), sizeof(double)));
    s = fresh;
  }
  return *s;
}

DeviceState& current() {
  check(t_state != nullptr, "CUDA backend: no current device (internal error: backend() was not called)");
  return *t_state;
}

const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED:
      return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH:
      return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR:
      return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED:
      return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR:
      return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR:
      return "CUBLAS_STATUS_LICENSE_ERROR";
    default:
      return "unknown cuBLAS status";
  }
}

}  // namespace

void fail_cuda(const char* call, cudaError_t status, const char* file, int line) {
  fail("CUDA error: ", call, " failed: ", cudaGetErrorName(status), " (", cudaGetErrorString(status), ") at ", file,
       ":", line);
}

void fail_cublas(const char* call, cublasStatus_t status, const char* file, int line) {
  fail("cuBLAS error: ", call, " failed: ", cublas_status_name(status), " at ", file, ":", line);
}

void check_launch(const char* kernel, const char* file, int line) {
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess)
    fail("CUDA error: launching ", kernel, " failed: ", cudaGetErrorName(status), " (", cudaGetErrorString(status),
         ") at ", file, ":", line);
}

int device_count() { return availability().count; }
std::string unavailable_reason() { return availability().reason; }

std::string device_name(int index) {
  backend(index);
  cudaDeviceProp prop{};
  MINIDL_CUDA_CHECK(cudaGetDeviceProperties(&prop, index));
  char memory[32];
  std::snprintf(memory, sizeof memory, " (%.1f GiB)", static_cast<double>(prop.totalGlobalMem) / (1 << 30));
  return std::string(prop.name) + memory;
}

int64_t malloc_calls() { return g_malloc_calls.load(); }
void count_malloc() { ++g_malloc_calls; }
int current_device() {
  check(t_current >= 0, "CUDA backend: no current device (internal error: backend() was not called)");
  return t_current;
}

void* device_malloc(size_t bytes, const char* what) {
  void* p = nullptr;
  const cudaError_t status = cudaMalloc(&p, bytes);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    fail("CUDA: out of memory allocating ", bytes, " bytes for the ", what, " on cuda:", t_current);
  }
  MINIDL_CUDA_CHECK(status);
  ++g_malloc_calls;
  return p;
}

cudaStream_t stream() { return current().stream; }
cublasHandle_t blas() { return current().blas; }
double* pinned_result() { return current().pinned_result; }

void* scratch(size_t bytes) {
  DeviceState& s = current();
  if (bytes > s.scratch_bytes) {
    const size_t grown = std::max(bytes, 2 * s.scratch_bytes);
    if (s.scratch) {
      MINIDL_CUDA_CHECK(cudaStreamSynchronize(s.stream));  // queued kernels may still read the old one
      MINIDL_CUDA_CHECK(cudaFree(s.scratch));
    }
    s.scratch = nullptr;
    s.scratch_bytes = 0;
    s.scratch = device_malloc(grown, "reduction scratch buffer");
    s.scratch_bytes = grown;
  }
  return s.scratch;
}

void synchronize(int index) {
  backend(index);
  MINIDL_CUDA_CHECK(cudaStreamSynchronize(current().stream));
}

const Backend& backend(int index) {
  static const Backend table = MINIDL_BACKEND_TABLE("cuda");
  if (index == t_current && t_state) [[likely]]
    return table;
  const Availability& a = availability();
  check(a.count > 0, "cuda:", index, " is not available: ", a.reason, " (use Device::cpu(), or --device cpu)");
  check(index >= 0 && index < a.count, "cuda:", index, " is not available: this machine has ", a.count, " CUDA device",
        a.count == 1 ? "" : "s", " (cuda:0", a.count > 1 ? str_cat("…cuda:", a.count - 1) : "", ")");
  MINIDL_CUDA_CHECK(cudaSetDevice(index));
  t_current = index;
  t_state = nullptr;
  t_state = &state_of(index);
  return table;
}

}  // namespace minidl::kernels::cuda
