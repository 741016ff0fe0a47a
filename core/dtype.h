// Element types. float32 carries all the math; int32 holds labels and indices (argmax, targets).
#pragma once

#include <cstddef>
#include <ostream>

namespace minidl {

enum class DType { float32, int32 };

constexpr const char* to_string(DType dtype) { return dtype == DType::float32 ? "float32" : "int32"; }
constexpr size_t element_size(DType) { return 4; }  // both dtypes are 4 bytes; kernels rely on it
inline std::ostream& operator<<(std::ostream& os, DType dtype) { return os << to_string(dtype); }

}  // namespace minidl
