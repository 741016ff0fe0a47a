// Datasets and batches. A Dataset hands out whole batches — a range of examples or any list of
// them — so that a batch costs one gather, never one allocation per example.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <minidl/core/tensor.h>

namespace minidl::data {

struct Batch {
  Tensor inputs;   // (B, …)
  Tensor targets;  // (B) or (B, …)
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  /// Examples begin … end − 1, in order.
  virtual Batch range(int64_t begin, int64_t end) const = 0;
  /// The examples at `indices`, in that order. Indices out of [0, size()) throw.
  virtual Batch gather(std::span<const int32_t> indices) const = 0;
};

/// A dataset held as two tensors whose first dim indexes examples: ranges are views (no copy),
/// gathers one copy per batch (through an index tensor made from `indices`).
class TensorDataset : public Dataset {
 public:
  TensorDataset(Tensor inputs, Tensor targets);
  int64_t size() const override { return inputs_.size(0); }
  Batch range(int64_t begin, int64_t end) const override;
  Batch gather(std::span<const int32_t> indices) const override;
  const Tensor& inputs() const { return inputs_; }
  const Tensor& targets() const { return targets_; }

 private:
  Tensor inputs_, targets_;
};

}  // namespace minidl::data
