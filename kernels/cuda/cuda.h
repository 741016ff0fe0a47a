// The CUDA backend: cuBLAS for GEMM and our own kernels for everything else, filling the same
// kernels::Backend table as kernels/cpu with functions of the same names. This header is plain C++
// (no CUDA headers), so core/ can pick the backend while only kernels/cuda/*.cu see nvcc.
//
// Execution model: one stream per device; every kernel and copy of that device is queued on it in
// program order, so the host never waits except where a value must come back (item(), to_vector(),
// the synchronizing reductions sum_squares and dot). Device memory comes from core's caching
// allocator, which calls allocate() here only on a cache miss.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/backend.h"

namespace minidl::kernels::cuda {

/// CUDA devices this process can use: 0 when the machine has no GPU or no driver (the reason is
/// then in unavailable_reason()). Asked once and remembered.
int device_count();
/// Why device_count() is 0, as the CUDA runtime says it; empty when devices were found.
std::string unavailable_reason();
/// The device's name and memory, e.g. "NVIDIA H100 80GB HBM3 (79.1 GiB)".
std::string device_name(int index);

/// The backend table, with `index` made this thread's current device. Throws Error when the
/// device does not exist, naming how many there are (or why there are none).
const Backend& backend(int index);

/// Every cudaMalloc this process has made so far (the caching allocator's misses, and the backend's
/// own scratch buffers and cuBLAS workspace): a training loop in steady state adds none.
int64_t malloc_calls();

/// Blocks until every kernel and copy queued on device `index` has finished (for timing).
void synchronize(int index);

/// cuBLAS's path, loading it now if no GPU has been set up yet (Error when it cannot be loaded), and
/// whether it is loaded: a CPU-only run of a CUDA build never loads it.
std::string blas_library();
bool blas_loaded();

}  // namespace minidl::kernels::cuda
