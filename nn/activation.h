// Activation layers: parameterless modules around the elementwise ops.
#pragma once

#include <minidl/nn/module.h>

namespace minidl::nn {

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ReLU"; }
};

class Sigmoid : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Sigmoid"; }
};

class Tanh : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Tanh"; }
};

/// GELU: x·Φ(x), exact (through erfc), or with tanh_approximation PyTorch's approximate='tanh'
/// (functional::gelu). The repr shows PyTorch's argument: GELU(approximate='none').
class GELU : public Module {
 public:
  explicit GELU(bool tanh_approximation = false) : tanh_(tanh_approximation) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "GELU"; }
  std::string extra_repr() const override { return tanh_ ? "approximate='tanh'" : "approximate='none'"; }
  bool tanh_approximation() const { return tanh_; }

 private:
  bool tanh_;
};

/// SiLU (swish): x·σ(x).
class SiLU : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "SiLU"; }
};

/// Flattens dims start_dim..end_dim into one: [B, 1, 28, 28] → [B, 784] by default.
class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1) : start_dim_(start_dim), end_dim_(end_dim) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Flatten"; }
  std::string extra_repr() const override;

 private:
  int64_t start_dim_, end_dim_;
};

/// Unflattens dim `dim` into `sizes`: Unflatten(1, {1, 28, 28}) turns MNIST's [B, 784] batches
/// into the [B, 1, 28, 28] images a convolution takes. A view, no copy.
class Unflatten : public Module {
 public:
  Unflatten(int64_t dim, Shape sizes);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Unflatten"; }
  std::string extra_repr() const override;

 private:
  int64_t dim_;
  Shape sizes_;
};

}  // namespace minidl::nn
