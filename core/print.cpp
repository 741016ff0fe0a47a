// operator<< for Tensor, after PyTorch's repr: one number format for the whole tensor (integral
// values as "3.", fixed 4 decimals, or scientific when magnitudes span more than 1e3 or leave
// [1e-4, 1e8)), right-aligned to a common width, rows broken by dimension, and only the first and
// last 3 entries of each dimension shown when there are over 1000 elements.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace minidl {

namespace {

constexpr int64_t kSummarizeAbove = 1000;
constexpr int64_t kEdgeItems = 3;

struct Formatter {
  bool is_int = false;  // int32 tensor
  bool int_mode = false;
  bool sci_mode = false;

  explicit Formatter(const std::vector<float>& values, DType dtype) {
    is_int = dtype == DType::int32;
    if (is_int) return;
    double lo = INFINITY, hi = 0;
    int_mode = true;
    for (float v : values) {
      if (!std::isfinite(v)) continue;
      if (v != std::nearbyint(v)) int_mode = false;
      const double a = std::fabs(v);
      if (a > 0) lo = std::min(lo, a), hi = std::max(hi, a);
    }
    if (hi == 0) return;  // all zero or non-finite
    sci_mode = int_mode ? hi > 1e8 : (hi / lo > 1e3 || hi > 1e8 || lo < 1e-4);
  }

  std::string operator()(float v) const {
    char buf[64];
    if (is_int)
      std::snprintf(buf, sizeof buf, "%d", static_cast<int>(v));
    else if (std::isnan(v))
      return "nan";
    else if (std::isinf(v))
      return v > 0 ? "inf" : "-inf";
    else if (sci_mode)
      std::snprintf(buf, sizeof buf, "%.4e", v);
    else if (int_mode)
      std::snprintf(buf, sizeof buf, "%.0f.", v);
    else
      std::snprintf(buf, sizeof buf, "%.4f", v);
    return buf;
  }
};

struct Printer {
  const std::vector<float>& values;
  const Shape& shape;
  Shape strides;
  bool summarize;
  std::vector<std::string> cells;  // formatted, in visiting order
  size_t width = 0;

  // Indices shown along a dimension of size n.
  std::vector<int64_t> shown(int64_t n) const {
    std::vector<int64_t> idx;
    if (summarize && n > 2 * kEdgeItems) {
      for (int64_t i = 0; i < kEdgeItems; ++i) idx.push_back(i);
      idx.push_back(-1);  // "..."
      for (int64_t i = n - kEdgeItems; i < n; ++i) idx.push_back(i);
    } else {
      for (int64_t i = 0; i < n; ++i) idx.push_back(i);
    }
    return idx;
  }

  void collect(const Formatter& f, int dim, int64_t base) {
    if (dim == shape.size()) {
      cells.push_back(f(values[static_cast<size_t>(base)]));
      width = std::max(width, cells.back().size());
      return;
    }
    for (int64_t i : shown(shape[dim]))
      if (i >= 0) collect(f, dim + 1, base + i * strides[dim]);
  }

  void emit(std::string& out, int dim, int64_t indent, size_t& cell) const {
    if (dim == shape.size()) {
      out += std::string(width - cells[cell].size(), ' ') + cells[cell];
      ++cell;
      return;
    }
    out += '[';
    const std::vector<int64_t> idx = shown(shape[dim]);
    const bool innermost = dim == shape.size() - 1;
    for (size_t j = 0; j < idx.size(); ++j) {
      if (j > 0) {
        out += ',';
        if (innermost) {
          out += ' ';
        } else {
          out += std::string(static_cast<size_t>(shape.size() - dim - 1), '\n');
          out += std::string(static_cast<size_t>(indent + dim + 1), ' ');
        }
      }
      if (idx[j] < 0)
        out += "...";
      else
        emit(out, dim + 1, indent, cell);
    }
    out += ']';
  }
};

}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "tensor(undefined)";
  const std::vector<float> values = t.to_vector();
  const Formatter f(values, t.dtype());
  Printer p{values, t.shape(), contiguous_strides(t.shape()), t.numel() > kSummarizeAbove, {}, 0};
  std::string body;
  if (t.numel() == 0) {
    body = "[]";
  } else {
    p.collect(f, 0, 0);
    size_t cell = 0;
    p.emit(body, 0, /*indent=*/7, cell);  // 7 = strlen("tensor(")
  }
  os << "tensor(" << body << ", shape=" << t.shape() << ", dtype=" << t.dtype();
  if (!t.device().is_cpu()) os << ", device=" << t.device();
  if (t.requires_grad()) os << ", requires_grad=true";
  return os << ')';
}

}  // namespace minidl
