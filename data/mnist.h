// MNIST and Fashion-MNIST from their four standard IDX files (raw or .gz):
//   train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte
// The images stay what the file holds, one byte per pixel (47 MB for MNIST's training set, read
// once into memory); a batch becomes float32 rows of 784 pixels only when it is
// gathered, each byte v turned into (v/255 − mean)/std on the way. Holding the set as
// normalized floats would take 188 MB and gain nothing: the gather reads each image once per epoch
// either way. Labels are int32 classes 0–9.
#pragma once

#include <string>

#include <minidl/data/dataset.h>
#include <minidl/data/idx_reader.h>

namespace minidl::data {

enum class Split { train, test };

/// Where a dataset lives and how it is normalized; also what `minidl` records in checkpoints.
struct ImageDatasetInfo {
  const char* name;          // "mnist"
  float mean, std;           // of the training pixels in [0, 1]
  const char* how_to_fetch;  // shown when the files are missing
};

/// Byte images and int32 labels; batches are float32 [B, pixels] normalized as `info` says and
/// int32 [B] targets.
class ImageDataset : public Dataset {
 public:
  /// `images`: IDX array [N, rows, cols] of bytes; `labels`: one class per image.
  ImageDataset(IdxArray images, std::vector<int32_t> labels, const ImageDatasetInfo& info);

  int64_t size() const override { return static_cast<int64_t>(labels_.size()); }
  int64_t image_size() const { return image_size_; }  // pixels per image (784)
  Batch range(int64_t begin, int64_t end) const override;
  Batch gather(std::span<const int32_t> indices) const override;
  const ImageDatasetInfo& info() const { return info_; }
  /// FNV-1a over the first and last 64 KiB of the images and every label: what ranks compare to
  /// know they read the same data (distributed/agreement.h), in far less time than hashing every pixel.
  uint64_t content_hash() const;

 private:
  Batch rows(std::span<const int32_t> indices, int64_t begin, int64_t count) const;
  IdxArray images_;
  std::vector<int32_t> labels_;
  ImageDatasetInfo info_;
  int64_t image_size_;
};

class MNIST : public ImageDataset {
 public:
  static constexpr ImageDatasetInfo info{"mnist", 0.1307f, 0.3081f, "scripts/fetch-mnist"};
  MNIST(const std::string& dir, Split split);
};

class FashionMNIST : public ImageDataset {
 public:
  static constexpr ImageDatasetInfo info{"fashion-mnist", 0.2860f, 0.3530f,
                                         "sudo apt-get install dataset-fashion-mnist"};
  FashionMNIST(const std::string& dir, Split split);
};

/// Loads a dataset in the MNIST layout from `dir`, checking the files against each other
/// (28×28 images, at least one, one label per image, labels 0–9). Missing files name the command
/// that gets them.
ImageDataset load_mnist_format(const std::string& dir, Split split, const ImageDatasetInfo& info);

/// Pixels in [0, 1] normalized as the dataset's training images: (x − mean) / std.
Tensor normalize_pixels(const Tensor& pixels, const ImageDatasetInfo& info);

}  // namespace minidl::data
