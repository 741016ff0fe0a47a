#include "core/backend_table.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/cpu.h"
#if MINIDL_WITH_CUDA
#include "kernels/cuda/cuda.h"
#endif

namespace minidl {

namespace {

std::atomic<bool> threads_chosen{false};  // by set_num_threads, or by the default below

// The default thread count (core/backend.h), once, unless the program or OMP_NUM_THREADS chose one.
bool choose_default_threads() {
  if (!threads_chosen.exchange(true) && !std::getenv("OMP_NUM_THREADS"))
    kernels::cpu::set_num_threads(recommended_threads());
  return true;
}

}  // namespace

const kernels::Backend& backend_for(Device device) {
  if (device.is_cpu()) {
    [[maybe_unused]] static const bool chosen = choose_default_threads();  // at the first CPU op
    return kernels::cpu::backend();
  }
#if MINIDL_WITH_CUDA
  return kernels::cuda::backend(device.index);
#else
  fail("cannot use ", device, ": ", cuda::unavailable_reason(), "; use Device::cpu()");
#endif
}

void set_num_threads(int n) {
  check(n >= 1, "set_num_threads: need at least 1 thread, got ", n);
  threads_chosen = true;
  kernels::cpu::set_num_threads(n);
}

int num_threads() {
  [[maybe_unused]] static const bool chosen = choose_default_threads();
  return kernels::cpu::num_threads();
}

int available_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return std::max(1, CPU_COUNT(&set));
}

namespace {

// Runnable tasks in the whole system, this reading included: /proc/loadavg's fourth field,
// "running/total" (-1 when it cannot be read).
int runnable_tasks() {
  std::ifstream in("/proc/loadavg");
  double a, b, c;
  std::string running;
  if (!(in >> a >> b >> c >> running)) return -1;
  return std::atoi(running.c_str());
}

}  // namespace

int recommended_threads() {
  const int cpus = available_cpus();
  const int online = std::max(1, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));
  std::vector<int> others;
  for (int i = 0; i < 5; ++i) {
    if (i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const int running = runnable_tasks();
    if (running < 0) return cpus;
    others.push_back(running - 1);  // this thread, reading
  }
  std::sort(others.begin(), others.end());
  const int free = online - others[others.size() / 2];
  return std::clamp(free, 1, cpus);
}

std::string blas_core() { return kernels::cpu::blas_core(); }

std::string gemm_library() { return kernels::cpu::gemm_library(); }

std::string better_blas_core() {
  const char* core = kernels::cpu::better_blas_core();
  return core ? core : "";
}

void synchronize(Device device) {
#if MINIDL_WITH_CUDA
  if (device.is_cuda()) kernels::cuda::synchronize(device.index);
#else
  backend_for(device);  // throws for a CUDA device
#endif
}

namespace cuda {

#if MINIDL_WITH_CUDA
bool is_built() { return true; }
int device_count() { return kernels::cuda::device_count(); }
std::string unavailable_reason() { return kernels::cuda::unavailable_reason(); }
std::string device_name(int index) { return kernels::cuda::device_name(index); }
int64_t malloc_calls() { return kernels::cuda::malloc_calls(); }
std::string blas_library() { return kernels::cuda::blas_library(); }
bool blas_loaded() { return kernels::cuda::blas_loaded(); }
#else
bool is_built() { return false; }
int device_count() { return 0; }
std::string unavailable_reason() {
  return "this build of minidl has no CUDA backend (configured without nvcc, or with -DMINIDL_CUDA=OFF)";
}
std::string device_name(int index) {
  backend_for(Device::cuda(index));  // throws
  return "";
}
int64_t malloc_calls() { return 0; }
std::string blas_library() {
  backend_for(Device::cuda(0));  // throws: no CUDA backend in this build
  return "";
}
bool blas_loaded() { return false; }
#endif

bool is_available() { return device_count() > 0; }

}  // namespace cuda

}  // namespace minidl
