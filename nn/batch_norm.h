// nn::BatchNorm1d and nn::BatchNorm2d: batch normalization with a learned scale (weight) and shift
// (bias) per channel and running statistics kept as buffers, exactly as torch.nn's. C = channels.
#pragma once

#include <minidl/nn/module.h>

namespace minidl::nn {

struct BatchNormOptions {
  float eps = 1e-5f;
  float momentum = 0.1f;            // running = (1 − momentum)·running + momentum·batch statistic
  bool affine = true;               // learn weight (init 1) and bias (init 0)
  bool track_running_stats = true;  // keep running_mean (0), running_var (1), num_batches_tracked (0)
};

/// The shared implementation; BatchNorm1d and BatchNorm2d only check the input's rank.
class BatchNorm : public Module {
 public:
  BatchNorm(int64_t num_features, BatchNormOptions options);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "BatchNorm"; }
  std::string extra_repr() const override;
  int64_t num_features() const { return num_features_; }

  Tensor weight, bias;               // (C), undefined unless affine
  Tensor running_mean, running_var;  // (C), undefined unless track_running_stats
  Tensor num_batches_tracked;        // int32 scalar: training batches seen

 protected:
  virtual void check_input(const Tensor& x) const = 0;

 private:
  int64_t num_features_;
  BatchNormOptions options_;
};

/// Over (N, C) or (N, C, L) inputs: statistics per C over N (and L).
class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(int64_t num_features, BatchNormOptions options = {}) : BatchNorm(num_features, options) {}
  std::string type_name() const override { return "BatchNorm1d"; }

 protected:
  void check_input(const Tensor& x) const override;
};

/// Over (N, C, H, W) inputs: statistics per C over N, H and W.
class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(int64_t num_features, BatchNormOptions options = {}) : BatchNorm(num_features, options) {}
  std::string type_name() const override { return "BatchNorm2d"; }

 protected:
  void check_input(const Tensor& x) const override;
};

}  // namespace minidl::nn
