#include "nn/embedding.h"

#include "nn/functional.h"

namespace minidl::nn {

Embedding::Embedding(int64_t num_embeddings, int64_t embedding_dim)
    : Embedding(num_embeddings, embedding_dim, default_generator()) {}

Embedding::Embedding(int64_t num_embeddings, int64_t embedding_dim, Generator& gen)
    : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {
  check(num_embeddings > 0 && embedding_dim > 0, "Embedding: num_embeddings and embedding_dim must be positive, got ",
        num_embeddings, " and ", embedding_dim);
  weight = Tensor::randn({num_embeddings, embedding_dim}, gen);
  register_parameter("weight", weight);
}

Tensor Embedding::forward(const Tensor& indices) { return functional::embedding(indices, weight); }

std::string Embedding::extra_repr() const { return str_cat(num_embeddings_, ", ", embedding_dim_); }

}  // namespace minidl::nn
