// The language-model ops of issue 26 by the names of tests/reference/ops_reference.h's cases
// (scripts/gen_ops_reference.py writes the same computations in PyTorch): test_ops.cpp compares
// them with PyTorch and gradchecks them, test_cuda.cpp runs them on a GPU against the CPU.
#pragma once

#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <minidl/minidl.h>
#include "reference/ops_reference.h"

namespace ops_table {

using minidl::Tensor;
using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

// Each part times (i + 1), then joined again: split's and chunk's views each get their own gradient.
inline Tensor scaled_parts(const std::vector<Tensor>& parts, int64_t dim) {
  std::vector<Tensor> scaled;
  for (size_t i = 0; i < parts.size(); ++i) scaled.push_back(parts[i] * static_cast<float>(i + 1));
  return minidl::cat(scaled, dim);
}

inline const std::map<std::string, Fn>& ops() {
  namespace F = minidl::nn::functional;
  using V = const std::vector<Tensor>&;
  static const std::map<std::string, Fn> table = {
      {"abs", [](V in) { return minidl::abs(in[0]); }},
      {"pow_2.5", [](V in) { return minidl::pow(in[0], 2.5f); }},
      {"pow_3", [](V in) { return minidl::pow(in[0], 3.f); }},
      {"clamp", [](V in) { return minidl::clamp(in[0], -0.5f, 0.7f); }},
      {"maximum", [](V in) { return minidl::maximum(in[0], in[1]); }},
      {"minimum", [](V in) { return minidl::minimum(in[0], in[1]); }},
      {"where", [](V in) { return minidl::where(in[0], in[1], in[2]); }},
      {"masked_fill_softmax", [](V in) { return minidl::softmax(minidl::masked_fill(in[0], in[1], -INFINITY), -1); }},
      {"cat",
       [](V in) {
         return minidl::cat({in[0], in[1], in[2]}, 1);
       }},
      {"stack",
       [](V in) {
         return minidl::stack({in[0], in[1], in[2]}, 1);
       }},
      {"split", [](V in) { return scaled_parts(minidl::split(in[0], 2, 0), 0); }},
      {"chunk", [](V in) { return scaled_parts(minidl::chunk(in[0], 3, 1), 1); }},
      {"tril", [](V in) { return minidl::tril(in[0], -1); }},
      {"triu", [](V in) { return minidl::triu(in[0], 1); }},
      {"gather_dim1", [](V in) { return minidl::gather(in[0], 1, in[1]); }},
      {"gather_dim0_smaller", [](V in) { return minidl::gather(in[0], 0, in[1]); }},
      {"index_select", [](V in) { return minidl::index_select(in[0], 1, in[1]); }},
      {"matmul_4d_broadcast", [](V in) { return minidl::matmul(in[0], in[1]); }},
      {"matmul_2d_by_4d", [](V in) { return minidl::matmul(in[0], in[1]); }},
      {"matmul_matrix_vector", [](V in) { return minidl::matmul(in[0], in[1]); }},
      {"matmul_vector_batch", [](V in) { return minidl::matmul(in[0], in[1]); }},
      {"embedding", [](V in) { return F::embedding(in[0], in[1]); }},
      {"layer_norm_last", [](V in) { return F::layer_norm(in[0], {8}, in[1], in[2], 1e-5f); }},
      {"layer_norm_two_dims",
       [](V in) {
         return F::layer_norm(in[0], {3, 8}, in[1], in[2], 1e-5f);
       }},
      {"gelu", [](V in) { return F::gelu(in[0]); }},
      {"gelu_tanh", [](V in) { return F::gelu(in[0], true); }},
      {"silu", [](V in) { return F::silu(in[0]); }},
      {"attention_causal", [](V in) { return F::scaled_dot_product_attention(in[0], in[1], in[2], true); }},
      {"attention_full", [](V in) { return F::scaled_dot_product_attention(in[0], in[1], in[2], false); }},
      {"attention_causal_t_ne_s", [](V in) { return F::scaled_dot_product_attention(in[0], in[1], in[2], true); }},
      {"cross_entropy_ignore_smooth",
       [](V in) { return F::cross_entropy(in[0], in[1], {.ignore_index = 2, .label_smoothing = 0.1f}).reshape({1}); }},
      {"cross_entropy_3d_ignore", [](V in) { return F::cross_entropy(in[0], in[1], {}).reshape({1}); }},
  };
  return table;
}

/// A reference tensor as a minidl tensor on the CPU: int32 indices, or float32 values requiring
/// grad when PyTorch computed a gradient for them.
inline Tensor make(const ops_reference::Values& v, bool requires_grad) {
  const minidl::Shape shape(std::span<const int64_t>(v.shape));
  if (v.is_int) return Tensor::from_vector(std::vector<int32_t>(v.values.begin(), v.values.end()), shape);
  return Tensor::from_vector(v.values, shape, requires_grad);
}

inline std::vector<Tensor> inputs_of(const ops_reference::Case& c) {
  std::vector<Tensor> in;
  for (size_t i = 0; i < c.inputs.size(); ++i) in.push_back(make(c.inputs[i], !c.grads[i].values.empty()));
  return in;
}

}  // namespace ops_table
