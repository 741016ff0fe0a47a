// MNIST and Fashion-MNIST from their four standard IDX files (raw or .gz):
//   train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte
// Images become float32 rows of 784 pixels, scaled to [0, 1] and then normalized with the
// training set's mean and standard deviation; labels are int32 classes 0–9.
#pragma once

#include <string>

#include "data/dataset.h"

namespace minidl::data {

enum class Split { train, test };

/// Where a dataset lives and how it is normalized; also what `minidl` records in checkpoints.
struct ImageDatasetInfo {
  const char* name;           // "mnist"
  float mean, std;            // of the training pixels in [0, 1]
  const char* how_to_fetch;   // shown when the files are missing
};

class MNIST : public TensorDataset {
 public:
  static constexpr ImageDatasetInfo info{"mnist", 0.1307f, 0.3081f, "scripts/fetch-mnist"};
  MNIST(const std::string& dir, Split split);
};

class FashionMNIST : public TensorDataset {
 public:
  static constexpr ImageDatasetInfo info{"fashion-mnist", 0.2860f, 0.3530f,
                                         "sudo apt-get install dataset-fashion-mnist"};
  FashionMNIST(const std::string& dir, Split split);
};

/// Loads a dataset in the MNIST layout from `dir`, checking the files against each other
/// (28×28 images, one label per image, labels 0–9). Missing files name the command that gets them.
TensorDataset load_mnist_format(const std::string& dir, Split split, const ImageDatasetInfo& info);

/// Pixels in [0, 1] normalized as the dataset's training images: (x − mean) / std.
Tensor normalize_pixels(const Tensor& pixels, const ImageDatasetInfo& info);

}  // namespace minidl::data
