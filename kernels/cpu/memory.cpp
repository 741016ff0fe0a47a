// CPU memory and data movement: 64-byte aligned buffers (one AVX-512 vector), fills, strided
// copies and dtype casts. Copies move 4-byte elements with memcpy so that one kernel serves float32
// and int32 storage without type-punning through pointers.
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/parallel.h"
#include "kernels/elementwise_math.h"

namespace minidl::kernels::cpu {

constexpr size_t kAlignment = 64;

void* allocate(size_t bytes) {
  if (bytes == 0) return nullptr;
  const size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  return std::aligned_alloc(kAlignment, rounded);  // nullptr on failure: the caller reports it
}

void deallocate(void* ptr, size_t) { std::free(ptr); }

void copy_from_host(void* dst, const void* host_src, size_t bytes) {
  if (bytes) std::memcpy(dst, host_src, bytes);
}
void copy_to_host(void* host_dst, const void* src, size_t bytes) {
  if (bytes) std::memcpy(host_dst, src, bytes);
}

void fill(void* out, int64_t n, uint32_t bits) {
  auto* bytes = static_cast<unsigned char*>(out);
  parallel_for(n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) std::memcpy(bytes + 4 * i, &bits, 4);
  });
}

void copy(void* dst, const void* src, const CopyLayout& layout) {
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
  const int last = layout.ndim - 1;
  const int64_t sd = last >= 0 ? layout.strides[0][last] : 1, ss = last >= 0 ? layout.strides[1][last] : 1;
  for_each_row(layout, [&](const int64_t* off, int64_t len) {
    unsigned char* o = d + 4 * off[0];
    const unsigned char* i = s + 4 * off[1];
    if (sd == 1 && ss == 1) {
      std::memcpy(o, i, 4 * len);
    } else {
      for (int64_t j = 0; j < len; ++j) std::memcpy(o + 4 * j * sd, i + 4 * j * ss, 4);
    }
  });
}

void gather_rows(void* out, const void* in, const int32_t* rows, int64_t n_rows, int64_t row_elems) {
  const size_t row_bytes = 4 * static_cast<size_t>(row_elems);
  parallel_for(n_rows, row_elems, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      std::memcpy(static_cast<unsigned char*>(out) + r * row_bytes,
                  static_cast<const unsigned char*>(in) + rows[r] * row_bytes, row_bytes);
  });
}

void cast_int32_to_float32(float* out, const int32_t* in, int64_t n) {
  parallel_for(n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out[i] = static_cast<float>(in[i]);
  });
}

// Truncates toward zero like PyTorch's .to(torch.int32); NaN and values outside int32's range, which
// C++ leaves undefined, become 0 and the nearest bound.
void cast_float32_to_int32(int32_t* out, const float* in, int64_t n) {
  parallel_for(n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out[i] = math::float_to_int32(in[i]);
  });
}

}  // namespace minidl::kernels::cpu
