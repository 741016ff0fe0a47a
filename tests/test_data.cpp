// data: the IDX reader on tiny files this test writes (raw and gzip, valid and broken), the MNIST
// loader, DataLoader batching and shuffling, images, and safetensors files. A last case reads the
// real MNIST when data/mnist exists and says it was skipped otherwise.
#include <doctest/doctest.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "minidl/minidl.h"
#include "testing.h"

using namespace minidl;
namespace fs = std::filesystem;

namespace {

// A fresh directory under /tmp, removed at the end of the test case.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() / ("minidl-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

std::vector<uint8_t> gzip(const std::vector<uint8_t>& bytes) {
  uLongf size = compressBound(static_cast<uLong>(bytes.size())) + 32;
  std::vector<uint8_t> out(size);
  z_stream z{};
  deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  z.next_in = const_cast<uint8_t*>(bytes.data());
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// IDX bytes: magic (0, 0, 0x08, ndim), big-endian sizes, then `data`.
std::vector<uint8_t> idx(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data, uint8_t type = 0x08) {
  std::vector<uint8_t> out = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(d >> shift));
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// A tiny MNIST-layout dataset: n images whose pixels are (i + p) % 256 and labels i % 10.
void write_mnist(const TempDir& dir, const std::string& split, uint32_t n, uint32_t labels_n, bool gz = false) {
  std::vector<uint8_t> pixels, labels;
  for (uint32_t i = 0; i < n; ++i)
    for (uint32_t p = 0; p < 784; ++p) pixels.push_back(static_cast<uint8_t>((i + p) % 256));
  for (uint32_t i = 0; i < labels_n; ++i) labels.push_back(static_cast<uint8_t>(i % 10));
  const auto images = idx({n, 28, 28}, pixels), label_file = idx({labels_n}, labels);
  const std::string suffix = gz ? ".gz" : "";
  write_bytes(dir / (split + "-images-idx3-ubyte" + suffix), gz ? gzip(images) : images);
  write_bytes(dir / (split + "-labels-idx1-ubyte" + suffix), gz ? gzip(label_file) : label_file);
}

}  // namespace

TEST_SUITE("data") {
  TEST_CASE("read_idx reads raw and gzip files") {
    TempDir dir;
    const auto bytes = idx({2, 3}, {1, 2, 3, 4, 5, 6});
    write_bytes(dir / "a.idx", bytes);
    write_bytes(dir / "a.idx.gz", gzip(bytes));
    for (const char* name : {"a.idx", "a.idx.gz"}) {
      const data::IdxArray a = data::read_idx(dir / name);
      CHECK(a.dims == std::vector<int64_t>{2, 3});
      CHECK(std::vector<uint8_t>(a.data.begin(), a.data.end()) == std::vector<uint8_t>{1, 2, 3, 4, 5, 6});
    }
    auto twice = gzip(idx({1}, {9}));  // two concatenated gzip members are one stream
    const auto half = gzip({});
    twice.insert(twice.end(), half.begin(), half.end());
    write_bytes(dir / "b.gz", twice);
    const data::IdxArray b = data::read_idx(dir / "b.gz");
    CHECK(std::vector<uint8_t>(b.data.begin(), b.data.end()) == std::vector<uint8_t>{9});
  }

  TEST_CASE("a .gz file is decompressed once and then read from the cache") {
    TempDir dir, cache;
    setenv("MINIDL_CACHE_DIR", cache.path.c_str(), 1);
    write_bytes(dir / "c.idx.gz", gzip(idx({3}, {7, 8, 9})));
    const std::string cached = data::cached_decompression_path(dir / "c.idx.gz");
    CHECK(cached.starts_with(cache.path.string() + "/c.idx."));
    CHECK(!fs::exists(cached));
    CHECK(data::read_idx(dir / "c.idx.gz").data[2] == 9);
    REQUIRE(fs::exists(cached));  // written by the first read
    CHECK(fs::file_size(cached) == idx({3}, {7, 8, 9}).size());
    // The second read maps the cache: make the cache differ to see that it is the one read.
    write_bytes(cached, idx({3}, {1, 2, 3}));
    CHECK(data::read_idx(dir / "c.idx.gz").data[2] == 3);
    // A changed file (other size, so another key) is decompressed again.
    write_bytes(dir / "c.idx.gz", gzip(idx({4}, {7, 8, 9, 10})));
    CHECK(data::cached_decompression_path(dir / "c.idx.gz") != cached);
    CHECK(data::read_idx(dir / "c.idx.gz").data[3] == 10);
    setenv("MINIDL_CACHE_DIR", "off", 1);
    CHECK(data::cached_decompression_path(dir / "c.idx.gz").empty());
    CHECK(data::read_idx(dir / "c.idx.gz").data[3] == 10);
    unsetenv("MINIDL_CACHE_DIR");
  }

  TEST_CASE("read_idx names the file and what is wrong with it") {
    TempDir dir;
    const std::string p = dir / "bad";
    write_bytes(p, idx({60000, 28, 28}, std::vector<uint8_t>(1000)));
    CHECK(error_of([&] { data::read_idx(p); }) ==
          "read_idx: " + p + ": truncated: the header promises 60000 x 28 x 28 = 47040000 bytes of data, the file has 1000");
    write_bytes(p, {0x12, 0x34, 0x08, 0x01, 0, 0, 0, 0});
    CHECK(error_of([&] { data::read_idx(p); }) ==
          "read_idx: " + p + ": magic 0x12340801 is not an IDX magic (expected 0x0000, the element type, then the "
                             "dimension count, e.g. 0x00000803)");
    write_bytes(p, idx({2}, {0, 0, 0, 0, 0, 0, 0, 0}, 0x0D));
    CHECK(error_of([&] { data::read_idx(p); }) ==
          "read_idx: " + p + ": element type 0x0D (float32) is not supported; MNIST files hold unsigned bytes (0x08)");
    write_bytes(p, idx({2}, {1, 2, 3}));
    CHECK(error_of([&] { data::read_idx(p); }) == "read_idx: " + p + ": 1 bytes after the 2 data the header describes");
    write_bytes(p, {0, 0, 8});
    CHECK(error_of([&] { data::read_idx(p); }) == "read_idx: " + p + ": file is 3 bytes, too short for an IDX header");
    write_bytes(p, {0, 0, 8, 3, 0, 0});
    CHECK(error_of([&] { data::read_idx(p); }) ==
          "read_idx: " + p + ": truncated header: 3 dimensions need 16 bytes, file has 6");
    write_bytes(p, idx({0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, {}));
    CHECK(error_of([&] { data::read_idx(p); }).find("overflow") != std::string::npos);
    CHECK(error_of([&] { data::read_idx(dir / "missing"); }) ==
          "read_idx: " + (dir / "missing") + ": cannot open: No such file or directory");
  }

  TEST_CASE("read_idx rejects a .gz that is not gzip, and truncated or corrupt gzip") {
    TempDir dir;
    const std::string p = dir / "x.gz";
    write_bytes(p, idx({1}, {7}));
    CHECK(error_of([&] { data::read_idx(p); }) ==
          "read_idx: " + p + ": not gzip data (the file is named .gz but does not start with the gzip magic 1f 8b)");
    auto gz = gzip(idx({100}, std::vector<uint8_t>(100, 3)));
    gz.resize(gz.size() / 2);
    write_bytes(p, gz);
    CHECK(error_of([&] { data::read_idx(p); }) == "read_idx: " + p + ": truncated gzip data");
    gz = gzip(idx({100}, std::vector<uint8_t>(100, 3)));
    for (size_t i = 12; i < gz.size() - 8; ++i) gz[i] ^= 0x5A;
    write_bytes(p, gz);
    CHECK(error_of([&] { data::read_idx(p); }).starts_with("read_idx: " + p + ": corrupt gzip data"));
  }

  TEST_CASE("MNIST loads, scales and normalizes the images, and checks files against each other") {
    TempDir dir;
    write_mnist(dir, "train", 12, 12);
    write_mnist(dir, "t10k", 5, 5, /*gz=*/true);  // only the .gz files: found all the same
    const data::MNIST train(dir.path.string(), data::Split::train), test(dir.path.string(), data::Split::test);
    CHECK(train.size() == 12);
    CHECK(test.size() == 5);
    const data::Batch all = train.range(0, 12);
    CHECK(all.inputs.shape() == Shape{12, 784});
    CHECK(all.targets.dtype() == DType::int32);
    CHECK(all.targets.to_int_vector()[11] == 1);
    const auto x = all.inputs.to_vector();
    CHECK(x[0] == doctest::Approx((0 / 255.0 - 0.1307) / 0.3081));
    CHECK(x[784 + 5] == doctest::Approx((6 / 255.0 - 0.1307) / 0.3081));  // image 1, pixel 5: value 6
    // Each byte becomes exactly what normalize_pixels makes of it.
    const auto scaled = Tensor::from_vector({0.f, 6 / 255.f, 255 / 255.f}, {3});
    const auto expected = data::normalize_pixels(scaled, data::MNIST::info).to_vector();
    CHECK(x[0] == expected[0]);
    CHECK(x[784 + 5] == expected[1]);
    // A gather is the same rows in the order asked for.
    const std::vector<int32_t> pick = {11, 1, 1};
    const data::Batch some = train.gather(pick);
    CHECK(some.targets.to_int_vector() == std::vector<int32_t>{1, 1, 1});
    const auto y = some.inputs.to_vector();
    CHECK(std::vector<float>(y.begin(), y.begin() + 784) == std::vector<float>(x.begin() + 11 * 784, x.begin() + 12 * 784));
    CHECK(std::vector<float>(y.begin() + 784, y.begin() + 1568) == std::vector<float>(x.begin() + 784, x.begin() + 1568));
    const std::vector<int32_t> bad = {3, 12};
    CHECK(error_of([&] { train.gather(bad); }) == "mnist: example index 12 at position 1 is out of range [0, 12)");
    CHECK(error_of([&] { train.range(5, 13); }) == "mnist: range [5, 13) is out of bounds for 12 examples");

    write_mnist(dir, "train", 12, 11);
    CHECK(error_of([&] { data::MNIST(dir.path.string(), data::Split::train); }) ==
          "mnist: 12 images in " + (dir / "train-images-idx3-ubyte") + " but 11 labels in " +
              (dir / "train-labels-idx1-ubyte"));
    write_bytes(dir / "train-labels-idx1-ubyte", idx({12}, std::vector<uint8_t>(12, 12)));
    CHECK(error_of([&] { data::MNIST(dir.path.string(), data::Split::train); }) ==
          "mnist: " + (dir / "train-labels-idx1-ubyte") + ": label 12 at position 0 is not a class 0–9");
    write_bytes(dir / "train-images-idx3-ubyte", idx({2, 14, 14}, std::vector<uint8_t>(392)));
    CHECK(error_of([&] { data::MNIST(dir.path.string(), data::Split::train); }) ==
          "mnist: " + (dir / "train-images-idx3-ubyte") + ": expected images of shape [N, 28, 28], got [2, 14, 14]");
    CHECK(error_of([] { data::MNIST("/nonexistent/mnist", data::Split::train); }) ==
          "mnist: no train-images-idx3-ubyte[.gz] in /nonexistent/mnist; get the data with: scripts/fetch-mnist");
    CHECK(error_of([] { data::FashionMNIST("/nonexistent", data::Split::test); }) ==
          "fashion-mnist: no t10k-images-idx3-ubyte[.gz] in /nonexistent; get the data with: sudo apt-get install "
          "dataset-fashion-mnist");
  }

  TEST_CASE("DataLoader in order: views of the dataset, last batch partial or dropped") {
    const data::TensorDataset ds(Tensor::arange(10).reshape({10, 1}), Tensor::arange(10, {.dtype = DType::int32}));
    data::DataLoader loader(ds, {.batch_size = 4});
    CHECK(loader.num_batches() == 3);
    std::vector<int32_t> seen;
    for (const data::Batch& b : loader) {
      CHECK(b.inputs.shares_storage(ds.inputs()));
      for (int32_t t : b.targets.to_int_vector()) seen.push_back(t);
    }
    CHECK(seen == std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    CHECK(loader.batch(2).inputs.shape() == Shape{2, 1});
    data::DataLoader dropping(ds, {.batch_size = 4, .drop_last = true});
    CHECK(dropping.num_batches() == 2);
    CHECK(error_of([&] { data::DataLoader(ds, {.batch_size = 0}); }) == "DataLoader: batch_size must be >= 1, got 0");
  }

  TEST_CASE("DataLoader shuffles every epoch from its seed, one gather per batch") {
    const data::TensorDataset ds(Tensor::arange(100).reshape({100, 1}), Tensor::arange(100, {.dtype = DType::int32}));
    auto epoch = [](data::DataLoader& loader) {
      std::vector<int32_t> order;
      for (const data::Batch& b : loader) {
        const auto t = b.targets.to_int_vector();
        const auto x = b.inputs.to_vector();
        for (size_t i = 0; i < t.size(); ++i) CHECK(x[i] == static_cast<float>(t[i]));  // rows stay paired
        order.insert(order.end(), t.begin(), t.end());
      }
      return order;
    };
    data::DataLoader a(ds, {.batch_size = 32, .shuffle = true, .seed = 5});
    data::DataLoader b(ds, {.batch_size = 32, .shuffle = true, .seed = 5});
    const auto first = epoch(a), second = epoch(a);
    CHECK(std::set<int32_t>(first.begin(), first.end()).size() == 100);  // a permutation
    CHECK(first != second);                                              // a new one each epoch
    CHECK(epoch(b) == first);                                            // the same seed, the same order
    const auto state = a.generator().state();                            // resuming restores the order
    const auto third = epoch(a);
    data::DataLoader c(ds, {.batch_size = 32, .shuffle = true, .seed = 99});
    c.generator().set_state(state);
    CHECK(epoch(c) == third);
  }

  TEST_CASE("images: PNG round trip, resizing to 28x28, and files that are not images") {
    TempDir dir;
    std::vector<float> v(56 * 56);
    for (int y = 0; y < 56; ++y)
      for (int x = 0; x < 56; ++x) v[y * 56 + x] = x < 28 ? 1.f : 0.f;  // left half white
    data::save_png(dir / "big.png", Tensor::from_vector(v, {56, 56}));
    const Tensor full = data::load_image(dir / "big.png", 0);
    CHECK(full.shape() == Shape{56, 56});
    CHECK(full.to_vector() == v);
    const Tensor small = data::load_image(dir / "big.png");
    CHECK(small.shape() == Shape{28, 28});
    const auto s = small.to_vector();
    CHECK(s[0] == doctest::Approx(1.0).epsilon(0.02));
    CHECK(s[27] == doctest::Approx(0.0).epsilon(0.02));
    write_bytes(dir / "fake.png", {'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'a', 'g', 'e'});
    CHECK(error_of([&] { data::load_image(dir / "fake.png"); }).starts_with("load_image: " + (dir / "fake.png") +
                                                                           ": not a readable image ("));
    CHECK(error_of([&] { data::load_image(dir / "missing.png"); }).starts_with("load_image: " + (dir / "missing.png")));
    std::vector<uint8_t> gif = {'G', 'I', 'F', '8', '9', 'a'};
    CHECK(error_of([&] { data::decode_image(gif, "x.gif"); }) ==
          "load_image: x.gif: not a readable image (minidl reads PNG, BMP and binary PGM/PPM)");
    std::vector<uint8_t> jpeg = {0xff, 0xd8, 0xff, 0xe0};
    CHECK(error_of([&] { data::decode_image(jpeg, "x.jpg"); }) ==
          "load_image: x.jpg: JPEG is not read (the decoder minidl uses is unsafe on malformed files); convert it to PNG");
    CHECK(error_of([&] { data::save_png(dir / "x.png", Tensor::zeros({3})); }) ==
          "save_png: expected [height, width] pixels, got [3]");
  }

  TEST_CASE("inputs the fuzzers once crashed on are refused with an Error") {
    // tests/fuzz/regressions/<target>/: each file a crash (or sanitizer report) that scripts/fuzz found.
    int files = 0;
    for (const auto& entry : fs::directory_iterator(std::string(MINIDL_SOURCE_DIR) + "/tests/fuzz/regressions/image")) {
      CAPTURE(entry.path().string());
      const std::vector<uint8_t> bytes = data::read_file(entry.path().string(), "test");
      CHECK(error_of([&] { data::decode_image(bytes, entry.path().string()); }).starts_with("load_image: "));
      ++files;
    }
    CHECK(files >= 1);
  }

  TEST_CASE("safetensors round trip: float32 and int32, any layout, metadata") {
    TempDir dir;
    const std::string p = dir / "ck.safetensors";
    const Tensor w = Tensor::from_vector({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
    data::save_safetensors(p, {{"w", w}, {"wt", w.transpose(0, 1)}, {"labels", Tensor::from_vector({7, -1}, {2})},
                               {"scalar", Tensor::full({}, 2.5f)}},
                           {{"epoch", "3"}, {"config", "{\"lr\": 0.1}"}});
    const data::SafetensorsFile f = data::load_safetensors(p);
    REQUIRE(f.tensors.size() == 4);
    CHECK(f.tensors[0].first == "w");
    CHECK(f.tensors[0].second.to_vector() == w.to_vector());
    CHECK(f.tensors[1].second.shape() == Shape{3, 2});
    CHECK(f.tensors[1].second.to_vector() == std::vector<float>{1, 4, 2, 5, 3, 6});
    CHECK(f.tensors[2].second.to_int_vector() == std::vector<int32_t>{7, -1});
    CHECK(f.tensors[3].second.shape() == Shape{});
    CHECK(f.metadata.at("epoch") == "3");
    CHECK(f.metadata.at("config") == "{\"lr\": 0.1}");
    // The byte layout is the format's: u64 header length (a multiple of 8), JSON, data.
    std::ifstream in(p, std::ios::binary);
    uint64_t n = 0;
    in.read(reinterpret_cast<char*>(&n), 8);
    CHECK(n % 8 == 0);
    CHECK(fs::file_size(p) == 8 + n + (6 + 6 + 2 + 1) * 4);
    std::vector<std::string> leftovers;
    for (const auto& e : fs::directory_iterator(dir.path)) leftovers.push_back(e.path().filename().string());
    CHECK(leftovers == std::vector<std::string>{"ck.safetensors"});  // no temporary file left behind
  }

  TEST_CASE("safetensors: a corrupt file is refused with a message naming it, and a failed save keeps the old one") {
    TempDir dir;
    const std::string p = dir / "ck.safetensors";
    data::save_safetensors(p, {{"w", Tensor::ones({4})}});
    const auto good = [&] {
      std::ifstream in(p, std::ios::binary);
      return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
    }();
    auto corrupt = good;
    corrupt[8] = '#';  // the header's opening brace
    write_bytes(dir / "a", corrupt);
    CHECK(error_of([&] { data::load_safetensors(dir / "a"); }).starts_with("load_safetensors: " + (dir / "a") +
                                                                          ": corrupt header: "));
    auto truncated = good;
    truncated.resize(truncated.size() - 3);
    write_bytes(dir / "b", truncated);
    CHECK(error_of([&] { data::load_safetensors(dir / "b"); }) ==
          "load_safetensors: " + (dir / "b") + ": tensor 'w': shape [4] needs more than the file's 13 data bytes");
    write_bytes(dir / "c", {200, 0, 0, 0, 0, 0, 0, 0, '{', '}'});
    CHECK(error_of([&] { data::load_safetensors(dir / "c"); }) ==
          "load_safetensors: " + (dir / "c") + ": header length 200 does not fit the file's 10 bytes (not a "
                                              "safetensors file, or truncated)");
    const std::string f16 = R"({"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})";
    std::vector<uint8_t> bytes = {static_cast<uint8_t>(f16.size()), 0, 0, 0, 0, 0, 0, 0};
    bytes.insert(bytes.end(), f16.begin(), f16.end());
    bytes.resize(bytes.size() + 4);
    write_bytes(dir / "d", bytes);
    CHECK(error_of([&] { data::load_safetensors(dir / "d"); }) ==
          "load_safetensors: " + (dir / "d") + ": tensor 'w': dtype \"F16\" is not supported (F32 or I32)");
    const std::string wrong = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})";
    bytes = {static_cast<uint8_t>(wrong.size()), 0, 0, 0, 0, 0, 0, 0};
    bytes.insert(bytes.end(), wrong.begin(), wrong.end());
    bytes.resize(bytes.size() + 8);
    write_bytes(dir / "e", bytes);
    CHECK(error_of([&] { data::load_safetensors(dir / "e"); }) ==
          "load_safetensors: " + (dir / "e") + ": tensor 'w': data_offsets span 4 bytes, shape [2] needs 8");

    CHECK_FALSE(error_of([&] { data::save_safetensors(p, {{"w", Tensor()}}); }).empty());
    CHECK(data::load_safetensors(p).tensors[0].second.to_vector() == std::vector<float>(4, 1.f));  // intact
    CHECK(error_of([&] { data::save_safetensors(dir / "no/such/dir/x", {{"w", Tensor::ones({1})}}); })
              .starts_with("save_safetensors: " + (dir / "no/such/dir/x") + ": cannot create "));
  }

  TEST_CASE("safetensors: every single-bit flip and every truncation is refused, naming the file") {
    TempDir dir;
    const std::string p = dir / "ck.safetensors";
    data::save_safetensors(p, {{"w", Tensor::arange(6).reshape({2, 3})}, {"i", Tensor::arange(2, {.dtype = DType::int32})}},
                           {{"epoch", "3"}});
    const data::SafetensorsFile whole = data::load_safetensors(p);
    REQUIRE(whole.metadata.count(data::kChecksumKey) == 1);
    CHECK(whole.metadata.at("epoch") == "3");
    const std::vector<uint8_t> good = data::read_file(p, "test");
    const std::string bad = dir / "bad.safetensors";
    int refused = 0, cases = 0;
    for (size_t byte = 0; byte < good.size(); ++byte)
      for (int bit = 0; bit < 8; ++bit) {
        auto flipped = good;
        flipped[byte] ^= static_cast<uint8_t>(1 << bit);
        write_bytes(bad, flipped);
        ++cases;
        const std::string e = error_of([&] { data::load_safetensors(bad, /*require_checksum=*/true); });
        refused += e.starts_with("load_safetensors: " + bad + ": ");
      }
    CHECK(refused == cases);
    refused = cases = 0;
    for (size_t n = 0; n < good.size(); ++n) {
      write_bytes(bad, std::vector<uint8_t>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n)));
      ++cases;
      refused += error_of([&] { data::load_safetensors(bad, true); }).starts_with("load_safetensors: " + bad + ": ");
    }
    CHECK(refused == cases);
    CHECK(cases > 100);
    auto payload_flip = good;
    payload_flip.back() ^= 1;  // data bytes only: caught by the checksum alone
    write_bytes(bad, payload_flip);
    CHECK(error_of([&] { data::load_safetensors(bad); }).find(": checksum mismatch (stored ") != std::string::npos);
  }

  TEST_CASE("real MNIST, when data/mnist is present") {
    const std::string dir = std::string(MINIDL_SOURCE_DIR) + "/data/mnist";
    if (!fs::exists(dir + "/train-images-idx3-ubyte") && !fs::exists(dir + "/train-images-idx3-ubyte.gz"))
      SKIP_TEST("no MNIST in " + dir + " (scripts/fetch-mnist puts it there)");
    const data::MNIST train(dir, data::Split::train), test(dir, data::Split::test);
    CHECK(train.size() == 60000);
    CHECK(test.size() == 10000);
    const data::Batch all = train.range(0, train.size());
    CHECK(all.targets.to_int_vector()[0] == 5);  // the well-known first digits
    CHECK(test.range(0, 1).targets.to_int_vector()[0] == 7);
    const float m = mean(all.inputs).item();
    CHECK(std::fabs(m) < 0.01f);  // normalized with the training set's own statistics
    CHECK(std::sqrt(mean(square(all.inputs)).item() - m * m) == doctest::Approx(1.0).epsilon(0.01));
  }
}
