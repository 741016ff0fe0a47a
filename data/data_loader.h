// DataLoader: a dataset in batches, in order or reshuffled every epoch from a seeded generator.
// In order, batches are the dataset's ranges; shuffled, each batch is gathered with one copy
// straight from the dataset's storage (no per-batch index tensor).
//
//   data::DataLoader loader(train, {.batch_size = 64, .shuffle = true, .seed = 0});
//   for (const data::Batch& batch : loader) { … }   // one epoch; the next loop reshuffles
#pragma once

#include <cstdint>
#include <vector>

#include <minidl/core/generator.h>
#include <minidl/data/dataset.h>
#include <minidl/data/shard.h>

namespace minidl::data {

struct DataLoaderOptions {
  int64_t batch_size = 64;
  bool shuffle = false;
  bool drop_last = false;         // drop a final batch smaller than batch_size
  uint64_t seed = 0;              // of the shuffling generator
  Device device = Device::cpu();  // where batches are handed out (gathered on the host, then copied)
  /// Data parallelism: only this process's part of every batch (data/shard.h). The number of
  /// batches and their order are the single process's, so every rank steps in time.
  Shard shard{};
};

class DataLoader {
 public:
  /// `dataset` must outlive the loader.
  DataLoader(const Dataset& dataset, DataLoaderOptions options);

  int64_t num_batches() const;
  int64_t batch_size() const { return options_.batch_size; }

  class Iterator {
   public:
    Batch operator*() const { return loader_->batch(index_); }
    Iterator& operator++() {
      ++index_;
      return *this;
    }
    bool operator!=(const Iterator& other) const { return index_ != other.index_; }

   private:
    friend class DataLoader;
    Iterator(const DataLoader* loader, int64_t index) : loader_(loader), index_(index) {}
    const DataLoader* loader_;
    int64_t index_;
  };
  /// Starts an epoch: draws a new order when shuffling (so each range-for is one epoch).
  Iterator begin();
  Iterator end() const { return Iterator(this, num_batches()); }

  /// Batch i of the current epoch (this process's part of it, when sharded).
  Batch batch(int64_t i) const;
  /// The shuffling generator: save its state() in a checkpoint to resume the same batch order.
  Generator& generator() { return gen_; }

 private:
  const Dataset& dataset_;
  DataLoaderOptions options_;
  Generator gen_;
  std::vector<int32_t> order_;  // this epoch's permutation (shuffle only)
};

}  // namespace minidl::data
