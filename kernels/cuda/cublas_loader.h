// cuBLAS, loaded on first use rather than at program start. libcublas pulls in libcublasLt (half a
// gigabyte), and the dynamic loader made a CUDA build of minidl resident at 220 MB before main():
// a CPU-only run paid that for nothing. So the library is dlopen'ed when the first GPU is set up,
// and the backend calls the few functions it needs through this table. Plain C++ (cuBLAS's header
// declares the types only), compiled in CUDA builds.
#pragma once

#include <cublas_v2.h>

#include <string>

namespace minidl::kernels::cuda {

struct Cublas {
  std::string path;  // the library that was loaded
  decltype(&cublasCreate_v2) create;
  decltype(&cublasSetStream_v2) set_stream;
  decltype(&cublasSetMathMode) set_math_mode;
  decltype(&cublasSetWorkspace_v2) set_workspace;
  decltype(&cublasSgemm_v2) sgemm;
  decltype(&cublasSgemmStridedBatched) sgemm_strided_batched;
};

/// cuBLAS's functions, loading the library the first time (libcublas.so.<major> of the toolkit the
/// build used: from the loader's search path, else the toolkit's library directory). Throws Error
/// naming the library and the loader's message when it cannot be loaded or lacks a function.
const Cublas& cublas();

/// Whether the library is loaded (a CPU-only run never loads it).
bool cublas_loaded();

}  // namespace minidl::kernels::cuda
