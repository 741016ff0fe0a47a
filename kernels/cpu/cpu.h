// The CPU backend: OpenMP loops written so g++ vectorizes them, and OpenBLAS (or oneDNN's sgemm,
// kernels/cpu/gemm.cpp) for GEMM.
// These functions fill the kernels::Backend table returned by backend(); they are declared, under
// the same names as the CUDA backend's (kernels/cuda), from the list in kernels/backend.h.
#pragma once

#include "kernels/backend.h"

namespace minidl::kernels::cpu {

const Backend& backend();

/// Threads for our OpenMP loops and for OpenBLAS together (one knob, so they never oversubscribe).
void set_num_threads(int n);
int num_threads();

/// The name of the kernels OpenBLAS chose for this CPU ("SkylakeX", "Haswell", "Prescott", …).
const char* blas_core();
/// A better OPENBLAS_CORETYPE for this CPU when OpenBLAS did not recognize it and fell back to its
/// generic SSE3 kernels (Prescott): "SkylakeX" with AVX-512, "Haswell" with AVX2 and FMA; else null.
const char* better_blas_core();
/// The library that runs gemm(): "onednn" or "openblas", chosen once from MINIDL_GEMM and the CPU
/// (kernels/cpu/gemm.cpp says how). Throws for a MINIDL_GEMM it cannot honour.
const char* gemm_library();
/// How many products oneDNN declined (they ran in OpenBLAS instead); 0 when OpenBLAS runs them all.
int64_t gemm_declined();

// The table's entries (allocate, copy, unary, …, gemm), same names and meanings as kernels/cuda.
MINIDL_DECLARE_BACKEND_ENTRIES()

}  // namespace minidl::kernels::cpu
