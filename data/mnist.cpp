#include "data/mnist.h"

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

TensorDataset load_mnist_format(const std::string& dir, Split split, const ImageDatasetInfo& info) {
  const std::string prefix = split == Split::train ? "train" : "t10k";
  const std::string images_path = find_file(dir, prefix + "-images-idx3-ubyte", info);
  const std::string labels_path = find_file(dir, prefix + "-labels-idx1-ubyte", info);
  const IdxArray images = read_idx(images_path), labels = read_idx(labels_path);
  check(images.dims.size() == 3 && images.dims[1] == 28 && images.dims[2] == 28, info.name, ": ", images_path,
        ": expected images of shape [N, 28, 28], got ", Shape(images.dims));
  check(labels.dims.size() == 1, info.name, ": ", labels_path, ": expected labels of shape [N], got ",
        Shape(labels.dims));
  check(images.dims[0] == labels.dims[0], info.name, ": ", images.dims[0], " images in ", images_path, " but ",
        labels.dims[0], " labels in ", labels_path);

  const int64_t n = images.dims[0];
  Tensor pixels = Tensor::empty({n, 784});
  float* px = pixels.data<float>();
  for (size_t i = 0; i < images.data.size(); ++i) px[i] = static_cast<float>(images.data[i]) / 255.f;
  Tensor targets = Tensor::empty({n}, {.dtype = DType::int32});
  int32_t* t = targets.data<int32_t>();
  for (int64_t i = 0; i < n; ++i) {
    check(labels.data[i] < 10, info.name, ": ", labels_path, ": label ", int(labels.data[i]), " at position ", i,
          " is not a class 0–9");
    t[i] = labels.data[i];
  }
  return TensorDataset(normalize_pixels(pixels, info), targets);
}

Tensor normalize_pixels(const Tensor& pixels, const ImageDatasetInfo& info) {
  using dispatch::BinaryOp;
  const TensorOptions on{.device = pixels.device()};
  const Tensor centered = dispatch::binary(BinaryOp::sub, pixels, Tensor::full({}, info.mean, on), info.name);
  return dispatch::binary(BinaryOp::div, centered, Tensor::full({}, info.std, on), info.name);
}

MNIST::MNIST(const std::string& dir, Split split) : TensorDataset(load_mnist_format(dir, split, info)) {}
FashionMNIST::FashionMNIST(const std::string& dir, Split split) : TensorDataset(load_mnist_format(dir, split, info)) {}

}  // namespace minidl::data
