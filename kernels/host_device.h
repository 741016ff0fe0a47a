// MINIDL_HD marks per-element math that nvcc compiles for both host and device, so the CUDA
// kernels and the CPU loops run one definition and the CPU tests cover both.
#pragma once

#if defined(__CUDACC__)
#define MINIDL_HD __host__ __device__
#else
#define MINIDL_HD
#endif
