#include "data/dataset.h"

#include "core/dispatch.h"

namespace minidl::data {

TensorDataset::TensorDataset(Tensor inputs, Tensor targets) : inputs_(std::move(inputs)), targets_(std::move(targets)) {
  check(inputs_.defined() && targets_.defined() && inputs_.dim() >= 1 && targets_.dim() >= 1 &&
            inputs_.size(0) == targets_.size(0),
        "TensorDataset: inputs ", inputs_.defined() ? inputs_.shape().str() : "undefined", " and targets ",
        targets_.defined() ? targets_.shape().str() : "undefined", " must have the same first dimension");
}

Batch TensorDataset::range(int64_t begin, int64_t end) const {
  return {inputs_.slice(0, begin, end), targets_.slice(0, begin, end)};
}

Batch TensorDataset::gather(std::span<const int32_t> index_list) const {
  const Tensor host = Tensor::from_vector(std::vector<int32_t>(index_list.begin(), index_list.end()),
                                          {static_cast<int64_t>(index_list.size())});
  // The index tensor goes where each tensor lives (inputs and targets may be on different devices).
  return {dispatch::index_select_rows(inputs_, dispatch::to_device(host, inputs_.device()), "TensorDataset"),
          dispatch::index_select_rows(targets_, dispatch::to_device(host, targets_.device()), "TensorDataset")};
}

}  // namespace minidl::data
