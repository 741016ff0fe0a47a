#include "data/data_loader.h"

#include <climits>
#include <numeric>

#include "core/dispatch.h"

namespace minidl::data {

DataLoader::DataLoader(const Dataset& dataset, DataLoaderOptions options)
    : dataset_(dataset), options_(options), gen_(options.seed) {
  check(options.batch_size >= 1, "DataLoader: batch_size must be >= 1, got ", options.batch_size);
  shard_range(0, options.shard);  // checks the shard
  check(dataset.size() <= INT32_MAX, "DataLoader: ", dataset.size(), " examples exceed the int32 index range");
}

int64_t DataLoader::num_batches() const {
  const int64_t n = dataset_.size(), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

DataLoader::Iterator DataLoader::begin() {
  if (options_.shuffle) {
    // Fisher–Yates from the loader's own generator: the order depends only on the seed and epoch.
    order_.resize(static_cast<size_t>(dataset_.size()));
    std::iota(order_.begin(), order_.end(), 0);
    for (size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[gen_.below(i)]);
  }
  return Iterator(this, 0);
}

Batch DataLoader::batch(int64_t i) const {
  check(i >= 0 && i < num_batches(), "DataLoader: batch ", i, " out of range [0, ", num_batches(), ")");
  const int64_t first = i * options_.batch_size;
  const auto [part_first, part_last] =
      shard_range(std::min(options_.batch_size, dataset_.size() - first), options_.shard);
  const int64_t begin = first + part_first, end = first + part_last;
  check(!options_.shuffle || !order_.empty() || dataset_.size() == 0,
        "DataLoader: begin() must start an epoch before batches are read");
  Batch b =
      options_.shuffle
          ? dataset_.gather(std::span(order_).subspan(static_cast<size_t>(begin), static_cast<size_t>(end - begin)))
          : dataset_.range(begin, end);
  if (options_.device.is_cpu()) return b;
  // Gathered on the host, uploaded through the backend's pinned staging buffers: the copy is queued
  // behind the steps still running on the device, and the host goes on to the next batch.
  return {dispatch::to_device(b.inputs, options_.device), dispatch::to_device(b.targets, options_.device)};
}

}  // namespace minidl::data
