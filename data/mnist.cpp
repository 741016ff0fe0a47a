#include "data/mnist.h"

#include <algorithm>
#include <filesystem>

#include "core/dispatch.h"
#include "data/idx_reader.h"

namespace minidl::data {

namespace {

// "<dir>/<name>" or, when only the compressed file is there, "<dir>/<name>.gz".
std::string find_file(const std::string& dir, const std::string& name, const ImageDatasetInfo& info) {
  const std::filesystem::path base = std::filesystem::path(dir) / name;
  if (std::filesystem::exists(base)) return base.string();
  if (std::filesystem::exists(base.string() + ".gz")) return base.string() + ".gz";
  fail(info.name, ": no ", name, "[.gz] in ", dir, "; get the data with: ", info.how_to_fetch);
}

}  // namespace

ImageDataset load_mnist_format(const std::string& dir, Split split, const ImageDatasetInfo& info) {
  const std::string prefix = split == Split::train ? "train" : "t10k";
  const std::string images_path = find_file(dir, prefix + "-images-idx3-ubyte", info);
  const std::string labels_path = find_file(dir, prefix + "-labels-idx1-ubyte", info);
  // Compressed files: their headers first, so that a count mismatch is known before inflating.
  if (const auto i = gzip_idx_dims(images_path), l = gzip_idx_dims(labels_path); !i.empty() && !l.empty())
    check(i[0] == l[0], info.name, ": ", i[0], " images in ", images_path, " but ", l[0], " labels in ", labels_path);
  IdxArray images = read_idx(images_path);
  const IdxArray labels = read_idx(labels_path);
  check(images.dims.size() == 3 && images.dims[1] == 28 && images.dims[2] == 28, info.name, ": ", images_path,
        ": expected images of shape [N, 28, 28], got ", Shape(images.dims));
  check(labels.dims.size() == 1, info.name, ": ", labels_path, ": expected labels of shape [N], got ",
        Shape(labels.dims));
  check(images.dims[0] == labels.dims[0], info.name, ": ", images.dims[0], " images in ", images_path, " but ",
        labels.dims[0], " labels in ", labels_path);
  // An empty split trains to a NaN loss and "evaluates" to 0%: nothing to learn from or measure.
  check(images.dims[0] > 0, info.name, ": ", images_path, " holds no images");
  std::vector<int32_t> classes(labels.data.size());
  for (size_t i = 0; i < classes.size(); ++i) {
    check(labels.data[i] < 10, info.name, ": ", labels_path, ": label ", int(labels.data[i]), " at position ", i,
          " is not a class 0–9");
    classes[i] = labels.data[i];
  }
  return ImageDataset(std::move(images), std::move(classes), info);
}

ImageDataset::ImageDataset(IdxArray images, std::vector<int32_t> labels, const ImageDatasetInfo& info)
    : images_(std::move(images)), labels_(std::move(labels)), info_(info) {
  check(images_.dims.size() >= 2 && images_.dims[0] == static_cast<int64_t>(labels_.size()), info.name,
        ": ImageDataset needs images [N, …] and N labels, got images ", Shape(images_.dims), " and ", labels_.size(),
        " labels");
  image_size_ = static_cast<int64_t>(images_.data.size()) / std::max<int64_t>(1, images_.dims[0]);
}

Batch ImageDataset::range(int64_t begin, int64_t end) const {
  check(0 <= begin && begin <= end && end <= size(), info_.name, ": range [", begin, ", ", end,
        ") is out of bounds for ", size(), " examples");
  return rows({}, begin, end - begin);
}

Batch ImageDataset::gather(std::span<const int32_t> indices) const {
  for (size_t i = 0; i < indices.size(); ++i)
    check(indices[i] >= 0 && indices[i] < size(), info_.name, ": example index ", indices[i], " at position ", i,
          " is out of range [0, ", size(), ")");
  return rows(indices, 0, static_cast<int64_t>(indices.size()));
}

// Rows `indices` (or begin … begin + count − 1 when indices is empty), bytes turned into floats.
Batch ImageDataset::rows(std::span<const int32_t> indices, int64_t begin, int64_t count) const {
  Batch batch{Tensor::empty({count, image_size_}), Tensor::empty({count}, {.dtype = DType::int32})};
  float* out = batch.inputs.data<float>();
  int32_t* targets = batch.targets.data<int32_t>();
  const uint8_t* pixels = images_.data.data();
  for (int64_t r = 0; r < count; ++r) {
    const int64_t example = indices.empty() ? begin + r : indices[static_cast<size_t>(r)];
    const uint8_t* src = pixels + example * image_size_;
    float* dst = out + r * image_size_;
    // Shuffled rows are scattered over the file: ask for the next one while converting this one.
    if (r + 2 < count) {
      const int64_t ahead = indices.empty() ? begin + r + 2 : indices[static_cast<size_t>(r + 2)];
      for (int64_t byte = 0; byte < image_size_; byte += 64) __builtin_prefetch(pixels + ahead * image_size_ + byte);
    }
    // The float operations of normalize_pixels, in its order, so values match it bit for bit; written
    // as arithmetic rather than a table lookup because this loop vectorizes and a lookup does not.
    const float mean = info_.mean, std = info_.std;
    for (int64_t j = 0; j < image_size_; ++j) dst[j] = (static_cast<float>(src[j]) / 255.f - mean) / std;
    targets[r] = labels_[static_cast<size_t>(example)];
  }
  return batch;
}

Tensor normalize_pixels(const Tensor& pixels, const ImageDatasetInfo& info) {
  using dispatch::BinaryOp;
  const TensorOptions on{.device = pixels.device()};
  const Tensor centered = dispatch::binary(BinaryOp::sub, pixels, Tensor::full({}, info.mean, on), info.name);
  return dispatch::binary(BinaryOp::div, centered, Tensor::full({}, info.std, on), info.name);
}

MNIST::MNIST(const std::string& dir, Split split) : ImageDataset(load_mnist_format(dir, split, info)) {}
FashionMNIST::FashionMNIST(const std::string& dir, Split split) : ImageDataset(load_mnist_format(dir, split, info)) {}

uint64_t ImageDataset::content_hash() const {
  uint64_t h = 0xcbf29ce484222325ull;
  const auto add = [&h](std::span<const uint8_t> bytes) {
    for (const uint8_t b : bytes) h = (h ^ b) * 0x100000001b3ull;
  };
  const std::span<const uint8_t> images = images_.data;
  const size_t part = std::min<size_t>(images.size(), size_t{64} << 10);
  add(images.first(part));
  add(images.last(part));
  add(std::span(reinterpret_cast<const uint8_t*>(labels_.data()), labels_.size() * sizeof(int32_t)));
  return h;
}

}  // namespace minidl::data
