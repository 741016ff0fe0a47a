// nn::Embedding: a lookup table of learned vectors, one row per token id (torch.nn.Embedding).
// V = num_embeddings, C = embedding_dim.
#pragma once

#include <minidl/core/generator.h>
#include <minidl/nn/module.h>

namespace minidl::nn {

class Embedding : public Module {
 public:
  /// weight drawn from N(0, 1), PyTorch's default, from `gen` (or default_generator()) in row-major
  /// order. Sizes must be positive.
  Embedding(int64_t num_embeddings, int64_t embedding_dim);
  Embedding(int64_t num_embeddings, int64_t embedding_dim, Generator& gen);

  /// int32 indices of any shape, each in [0, V) → indices.shape + [C] (functional::embedding: the
  /// backward scatter-adds into the rows used).
  Tensor forward(const Tensor& indices) override;
  std::string type_name() const override { return "Embedding"; }
  std::string extra_repr() const override;

  int64_t num_embeddings() const { return num_embeddings_; }
  int64_t embedding_dim() const { return embedding_dim_; }

  Tensor weight;  // (V, C)

 private:
  int64_t num_embeddings_, embedding_dim_;
};

}  // namespace minidl::nn
