// What a program asks about devices and threads (is there a GPU, how many, wait for it, how many CPU
// threads). Which kernel table serves a device is internal: core/backend_table.h.
#pragma once

#include <cstdint>
#include <string>

#include <minidl/core/device.h>

namespace minidl {

/// Threads used by CPU kernels and OpenBLAS together. Default, chosen at the library's first CPU
/// op (or num_threads() call) without the program calling anything: recommended_threads(), the
/// cores other programs leave free, as the minidl program's --threads 0 does. OpenMP's own default,
/// every core, made a loop 20× slower on a busy 2-core machine: each parallel region waits at its
/// barrier for the thread the scheduler parked behind the other program. OMP_NUM_THREADS, when set,
/// is kept instead; set_num_threads(n), before or after, overrides either.
void set_num_threads(int n);
int num_threads();

/// The CPUs this process may run on (its affinity mask).
int available_cpus();
/// How many threads to use now: the available CPUs less those other programs keep busy right now
/// (the runnable tasks /proc/loadavg counts besides this one, the median of a few readings over
/// ~10 ms), at least 1. Threads beyond the free cores do not help: each parallel region then waits
/// for a thread the scheduler has parked behind the other program (on a 2-core machine with one
/// busy core, a CNN step took 46 ms on 2 threads and 6 ms on 1). The minidl program uses this for
/// --threads 0 (its default), at start and before each epoch.
int recommended_threads();

/// The CPU kernels OpenBLAS runs GEMMs with ("SkylakeX", "Haswell", …; "Prescott" is its generic
/// SSE3 fallback for a CPU it does not recognize).
std::string blas_core();
/// The OPENBLAS_CORETYPE that would serve this CPU better when OpenBLAS fell back to Prescott for
/// it (an AVX-512 or AVX2 CPU newer than the library): "SkylakeX" or "Haswell"; empty otherwise.
/// OpenBLAS reads the variable when it is loaded, so only a new process can use it (the minidl
/// program re-executes itself with it; docs/performance.md).
std::string better_blas_core();
/// The library that runs the CPU's matrix products: "onednn" (its sgemm picks AVX-512 kernels by
/// CPUID, whatever OPENBLAS_CORETYPE says) or "openblas". Chosen once, at the first product, from
/// the environment variable MINIDL_GEMM (auto, the default: oneDNN where libdnnl.so.2 loads and the
/// CPU has AVX-512; openblas; onednn) and the CPU; docs/performance.md. Throws minidl::Error for a
/// MINIDL_GEMM value it cannot honour.
std::string gemm_library();

/// Waits until every op queued on `device` has run (ops on a GPU return before they finish; a
/// value read back, such as item(), waits by itself). Nothing to wait for on the CPU. For timing.
void synchronize(Device device);

namespace cuda {
/// Whether this build contains the CUDA backend (CMake found nvcc; MINIDL_CUDA).
bool is_built();
/// Whether a CUDA device can be used now: a CUDA build, a GPU and a driver.
bool is_available();
/// CUDA devices usable now (0 when !is_available()).
int device_count();
/// Why is_available() is false, in words (no CUDA in this build; the CUDA runtime's answer); empty
/// when it is true.
std::string unavailable_reason();
/// "NVIDIA H100 80GB HBM3 (79.1 GiB)".
std::string device_name(int index = 0);
/// The cuBLAS library the CUDA backend uses, loaded on first use of a GPU (a CPU-only run of a CUDA
/// build never loads its half gigabyte): its path, loading it now. Error when it cannot be loaded or
/// this build has no CUDA backend.
std::string blas_library();
/// Whether cuBLAS has been loaded yet.
bool blas_loaded();
/// Every cudaMalloc this process made: the caching allocator's misses plus the backend's own
/// buffers. A training loop in steady state adds none (tests/test_cuda.cpp asserts it).
int64_t malloc_calls();
}  // namespace cuda

}  // namespace minidl
