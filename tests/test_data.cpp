// data: the IDX reader on tiny files this test writes (raw and gzip, valid and broken), the MNIST
// loader, DataLoader batching and shuffling, images, and safetensors files. A last case reads the
// real MNIST when data/mnist exists and says it was skipped otherwise.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <stb_image_write.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <thread>

#include <minidl/minidl.h>
#include "data/atomic_file.h"
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
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

std::vector<uint8_t> gzip(const std::vector<uint8_t>& bytes, int level = Z_DEFAULT_COMPRESSION) {
  uLongf size = compressBound(static_cast<uLong>(bytes.size())) + 32;
  std::vector<uint8_t> out(size);
  z_stream z{};
  deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
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

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Sets a file's modification time `seconds` into the past (without following a link).
void make_old(const std::string& path, int seconds) {
  const timespec then[2] = {{::time(nullptr) - seconds, 0}, {::time(nullptr) - seconds, 0}};
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), then, AT_SYMLINK_NOFOLLOW) == 0);
}

double seconds_since_modified(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<double>(::time(nullptr) - st.st_mtime);
}

// Another user, for files and links an attacker plants (nobody). Only root can make them.
constexpr uid_t kOtherUser = 65534;
bool can_act_as_others() { return ::geteuid() == 0; }

// A file only its owner may read (root's, when the tests run as root), which a planted link points at.
struct Victim {
  std::string path, contents = "root-only secret, must stay byte-identical\n";
  explicit Victim(std::string p) : path(std::move(p)) {
    std::ofstream(path, std::ios::binary) << contents;
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  }
  bool intact() const {
    return slurp(path) == contents &&
           fs::status(path).permissions() == (fs::perms::owner_read | fs::perms::owner_write);
  }
};

// A symbolic link at `at` to `target`, owned by another user when this process may do that.
void plant_link(const std::string& target, const std::string& at) {
  REQUIRE(::symlink(target.c_str(), at.c_str()) == 0);
  if (can_act_as_others()) REQUIRE(::lchown(at.c_str(), kOtherUser, kOtherUser) == 0);
}

// Opens `fifo` for writing once a reader appears, for up to `seconds`: a reader blocked in open()
// (what minidl did with a FIFO) is released then, so a test of that bug fails instead of hanging.
std::thread release_fifo_after(const std::string& fifo, double seconds) {
  return std::thread([fifo, seconds] {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < until) {
      const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
      if (fd >= 0) {
        ::close(fd);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
}

// The names in a directory.
std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
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

  TEST_CASE("a .gz file is decompressed once, then read from the cache once the entry matches its source") {
    TempDir dir, cache;
    fs::permissions(cache.path, fs::perms::owner_all);  // 0700: a cache directory must be the user's alone
    setenv("MINIDL_CACHE_DIR", cache.path.c_str(), 1);
    const auto bytes = idx({3}, {7, 8, 9});
    write_bytes(dir / "c.idx.gz", gzip(bytes));
    const std::string cached = data::cached_decompression_path(dir / "c.idx.gz");
    CHECK(cached.starts_with(cache.path.string() + "/c.idx."));
    CHECK(!fs::exists(cached));
    CHECK(data::read_idx(dir / "c.idx.gz").data[2] == 9);
    REQUIRE(fs::exists(cached));  // written by the first read: a 40-byte header, then the file
    CHECK(fs::file_size(cached) == 40 + bytes.size());
    CHECK(fs::status(cached).permissions() == (fs::perms::owner_read | fs::perms::owner_write));
    // A hit marks the entry as used (for eviction): age it, read again, and it is fresh.
    make_old(cached, 3600);
    CHECK(data::read_idx(dir / "c.idx.gz").data[2] == 9);
    CHECK(seconds_since_modified(cached) < 60);
    // A changed file is decompressed again, into the same entry (one per source path).
    write_bytes(dir / "c.idx.gz", gzip(idx({4}, {7, 8, 9, 10})));
    CHECK(data::cached_decompression_path(dir / "c.idx.gz") == cached);
    CHECK(data::read_idx(dir / "c.idx.gz").data[3] == 10);
    CHECK(fs::file_size(cached) == 40 + idx({4}, {7, 8, 9, 10}).size());
    setenv("MINIDL_CACHE_DIR", "off", 1);
    CHECK(data::cached_decompression_path(dir / "c.idx.gz").empty());
    CHECK(data::read_idx(dir / "c.idx.gz").data[3] == 10);
    unsetenv("MINIDL_CACHE_DIR");
  }

  TEST_CASE(
      "a cache entry that was edited, cut short, planted through a link, or left by a replaced source is not served") {
    TempDir dir, cache;
    fs::permissions(cache.path, fs::perms::owner_all);
    setenv("MINIDL_CACHE_DIR", cache.path.c_str(), 1);
    const std::string src = dir / "d.idx.gz";
    // Stored (level 0) gzip: the compressed size depends on the length alone, so two sources can
    // have the same size and, after touch, the same modification time (cp -p of another file).
    const auto a = idx({4}, {1, 2, 3, 4}), b = idx({4}, {5, 6, 7, 8});
    write_bytes(src, gzip(a, 0));
    const std::string cached = data::cached_decompression_path(src);
    REQUIRE(data::read_idx(src).data[3] == 4);
    REQUIRE(fs::exists(cached));
    const auto read_last = [&] { return static_cast<int>(data::read_idx(src).data[3]); };

    std::string entry = slurp(cached);
    entry.back() = 99;  // edited after the fact: the payload's checksum no longer matches
    write_bytes(cached, std::vector<uint8_t>(entry.begin(), entry.end()));
    CHECK(read_last() == 4);
    CHECK(slurp(cached).back() == 4);  // and rewritten from the source
    entry = slurp(cached);
    write_bytes(cached, std::vector<uint8_t>(entry.begin(), entry.end() - 2));  // cut short
    CHECK(read_last() == 4);

    const auto time_of_a = fs::last_write_time(src);
    write_bytes(src, gzip(b, 0));  // the same size, and then the same time: only the content differs
    REQUIRE(fs::file_size(src) == gzip(a, 0).size());
    fs::last_write_time(src, time_of_a);
    CHECK(read_last() == 8);

    // An entry that is a link (to a well-formed entry elsewhere, or to a victim's file) is neither
    // read nor written through: the next store replaces the link itself.
    const Victim victim(dir / "victim");
    fs::remove(cached);
    plant_link(victim.path, cached);
    CHECK(read_last() == 8);
    CHECK(victim.intact());
    CHECK(!fs::is_symlink(cached));
    unsetenv("MINIDL_CACHE_DIR");
  }

  TEST_CASE("a cache directory or entry that belongs to another user, or is open to others, is not used") {
    TempDir dir, cache;
    setenv("MINIDL_CACHE_DIR", cache.path.c_str(), 1);
    const std::string src = dir / "e.idx.gz";
    write_bytes(src, gzip(idx({2}, {1, 2})));
    fs::permissions(cache.path, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                    fs::perms::others_read | fs::perms::others_exec);  // 0755
    CHECK(data::read_idx(src).data[1] == 2);
    CHECK(listing(cache.path).empty());  // not written to: others could have put entries there
    fs::permissions(cache.path, fs::perms::owner_all);
    CHECK(data::read_idx(src).data[1] == 2);
    const std::string cached = data::cached_decompression_path(src);
    REQUIRE(fs::exists(cached));
    // minidl's default directory, made 0755 by earlier versions, is the user's: set to 0700 and used.
    TempDir xdg;
    fs::create_directories(xdg.path / "minidl");
    fs::permissions(xdg.path / "minidl", fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                             fs::perms::others_read | fs::perms::others_exec);
    unsetenv("MINIDL_CACHE_DIR");
    const char* xdg_before = std::getenv("XDG_CACHE_HOME");
    const std::string xdg_saved = xdg_before ? xdg_before : "";
    setenv("XDG_CACHE_HOME", xdg.path.c_str(), 1);
    CHECK(data::read_idx(src).data[1] == 2);
    CHECK(fs::status(xdg.path / "minidl").permissions() == fs::perms::owner_all);
    CHECK(listing(xdg.path / "minidl").size() == 1);
    if (xdg_saved.empty())
      unsetenv("XDG_CACHE_HOME");
    else
      setenv("XDG_CACHE_HOME", xdg_saved.c_str(), 1);
    // A link at MINIDL_CACHE_DIR's name (planted, to a directory only its owner may use) is not
    // followed: nothing is written through it.
    TempDir target;
    fs::permissions(target.path, fs::perms::owner_all);
    const std::string link = dir / "cache-link";
    plant_link(target.path.string(), link);
    setenv("MINIDL_CACHE_DIR", link.c_str(), 1);
    CHECK(data::read_idx(src).data[1] == 2);
    CHECK(listing(target.path).empty());
    setenv("MINIDL_CACHE_DIR", cache.path.c_str(), 1);
    if (!can_act_as_others()) SKIP_TEST("not root: cannot make files of another user");
    // An entry another user made (here: a well-formed one, forged for other data) is not read.
    std::string forged = slurp(cached);
    forged.back() = 42;
    write_bytes(cached, std::vector<uint8_t>(forged.begin(), forged.end()));
    REQUIRE(::chown(cached.c_str(), kOtherUser, kOtherUser) == 0);
    CHECK(data::read_idx(src).data[1] == 2);
    // Nor is a directory of another user, even with mode 0700.
    TempDir theirs;
    fs::permissions(theirs.path, fs::perms::owner_all);
    REQUIRE(::chown(theirs.path.c_str(), kOtherUser, kOtherUser) == 0);
    setenv("MINIDL_CACHE_DIR", theirs.path.c_str(), 1);
    CHECK(data::read_idx(src).data[1] == 2);
    CHECK(listing(theirs.path).empty());
    unsetenv("MINIDL_CACHE_DIR");
  }

  TEST_CASE("a .gz bomb stops at the size its IDX header states, allocating no more, and nothing is cached") {
    TempDir dir, cache;
    fs::permissions(cache.path, fs::perms::owner_all);
    setenv("MINIDL_CACHE_DIR", cache.path.c_str(), 1);
    // 0.5 MB expanding to 512 MB: a valid 2-image file, then 512 gzip members of 1 MiB of zeros
    // each (concatenated members are one gzip stream).
    std::vector<uint8_t> bomb = gzip(idx({2, 28, 28}, std::vector<uint8_t>(2 * 784, 5)));
    const std::vector<uint8_t> mib = gzip(std::vector<uint8_t>(size_t{1} << 20));
    for (int i = 0; i < 512; ++i) bomb.insert(bomb.end(), mib.begin(), mib.end());
    CHECK(bomb.size() < 600'000);
    write_bytes(dir / "bomb.gz", bomb);
    rusage before{}, after{};
    getrusage(RUSAGE_SELF, &before);
    const auto start = std::chrono::steady_clock::now();
    const std::string e = error_of([&] { data::read_idx(dir / "bomb.gz"); });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    getrusage(RUSAGE_SELF, &after);
    CHECK(e == "read_idx: " + (dir / "bomb.gz") +
                   ": more data after the 2 x 28 x 28 bytes the header describes (decompression stopped there)");
    MESSAGE("bomb refused in " << seconds << " s, peak memory grew " << (after.ru_maxrss - before.ru_maxrss) / 1024
                               << " MiB");
    CHECK(seconds < 1.0);
    CHECK(after.ru_maxrss - before.ru_maxrss < 64 * 1024);  // KiB: nothing near 512 MB was held
    CHECK(listing(cache.path).empty());
    // A header that promises more than its compressed bytes can expand to is refused unread.
    write_bytes(dir / "liar.gz", gzip(idx({60000, 28, 28}, std::vector<uint8_t>(100))));
    CHECK(error_of([&] {
            data::read_idx(dir / "liar.gz");
          }).find("bytes of gzip data can hold (deflate expands at most 1032:1)") != std::string::npos);
    unsetenv("MINIDL_CACHE_DIR");
  }

  TEST_CASE("images and labels whose .gz headers disagree are refused before either is inflated or cached") {
    TempDir dir, cache;
    fs::permissions(cache.path, fs::perms::owner_all);
    setenv("MINIDL_CACHE_DIR", cache.path.c_str(), 1);
    // 3000 images of zeros compress to a few KB; the labels say 2000.
    write_bytes(dir / "train-images-idx3-ubyte.gz", gzip(idx({3000, 28, 28}, std::vector<uint8_t>(3000 * 784))));
    write_bytes(dir / "train-labels-idx1-ubyte.gz", gzip(idx({2000}, std::vector<uint8_t>(2000))));
    CHECK(data::gzip_idx_dims(dir / "train-images-idx3-ubyte.gz") == std::vector<int64_t>{3000, 28, 28});
    CHECK(error_of([&] { data::load_mnist_format(dir.path.string(), data::Split::train, data::MNIST::info); }) ==
          "mnist: 3000 images in " + (dir / "train-images-idx3-ubyte.gz") + " but 2000 labels in " +
              (dir / "train-labels-idx1-ubyte.gz"));
    CHECK(listing(cache.path).empty());  // nothing was inflated whole, so nothing was cached
    unsetenv("MINIDL_CACHE_DIR");
  }

  TEST_CASE("the cache holds at most MINIDL_CACHE_MAX_MB, evicting the least recently used entries") {
    TempDir dir, cache;
    fs::permissions(cache.path, fs::perms::owner_all);
    setenv("MINIDL_CACHE_DIR", cache.path.c_str(), 1);
    setenv("MINIDL_CACHE_MAX_MB", "1", 1);
    write_bytes(cache / "notes.txt", {'k', 'e', 'e', 'p'});  // not an entry: never touched
    std::vector<std::string> cached;
    for (int i = 0; i < 3; ++i) {  // 3 × 400 KB > 1 MiB
      const std::string src = dir / ("f" + std::to_string(i) + ".gz");
      write_bytes(src, gzip(idx({400'000}, std::vector<uint8_t>(400'000, static_cast<uint8_t>(i)))));
      CHECK(data::read_idx(src).data[0] == i);
      cached.push_back(data::cached_decompression_path(src));
      make_old(cached.back(), 300 - 100 * i);  // f0 oldest
      if (i == 1) {
        CHECK(data::read_idx(dir / "f0.gz").data[0] == 0);  // f0 used again: now f1 is the oldest
      }
    }
    CHECK(fs::exists(cached[0]));
    CHECK(!fs::exists(cached[1]));
    CHECK(fs::exists(cached[2]));
    CHECK(fs::exists(cache / "notes.txt"));
    uint64_t total = 0;
    for (const auto& e : fs::directory_iterator(cache.path)) total += fs::file_size(e.path());
    CHECK(total <= (uint64_t{1} << 20));
    unsetenv("MINIDL_CACHE_MAX_MB");
    unsetenv("MINIDL_CACHE_DIR");
  }

  TEST_CASE("read_idx names the file and what is wrong with it") {
    TempDir dir;
    const std::string p = dir / "bad";
    write_bytes(p, idx({60000, 28, 28}, std::vector<uint8_t>(1000)));
    CHECK(error_of([&] { data::read_idx(p); }) ==
          "read_idx: " + p +
              ": truncated: the header promises 60000 x 28 x 28 = 47040000 bytes of data, the file has 1000");
    write_bytes(p, {0x12, 0x34, 0x08, 0x01, 0, 0, 0, 0});
    CHECK(error_of([&] { data::read_idx(p); }) ==
          "read_idx: " + p +
              ": magic 0x12340801 is not an IDX magic (expected 0x0000, the element type, then the "
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
    CHECK(std::vector<float>(y.begin(), y.begin() + 784) ==
          std::vector<float>(x.begin() + 11 * 784, x.begin() + 12 * 784));
    CHECK(std::vector<float>(y.begin() + 784, y.begin() + 1568) ==
          std::vector<float>(x.begin() + 784, x.begin() + 1568));
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
    write_mnist(dir, "train", 0, 0);  // a valid but empty split: nothing to train on or to measure
    CHECK(error_of([&] { data::MNIST(dir.path.string(), data::Split::train); }) ==
          "mnist: " + (dir / "train-images-idx3-ubyte") + " holds no images");
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

  TEST_CASE("sharded DataLoaders: the parts of every batch, in rank order, are the single process's batch") {
    CHECK(data::shard_range(64, {0, 3}) == std::pair<int64_t, int64_t>{0, 22});   // the remainder rule:
    CHECK(data::shard_range(64, {1, 3}) == std::pair<int64_t, int64_t>{22, 43});  // the first n mod count
    CHECK(data::shard_range(64, {2, 3}) == std::pair<int64_t, int64_t>{43, 64});  // parts get one more
    CHECK(data::shard_range(2, {2, 3}) == std::pair<int64_t, int64_t>{2, 2});     // an empty part
    CHECK(error_of([] { data::shard_range(5, {3, 3}); }) == "shard: part 3 of 3 does not exist");
    const data::TensorDataset ds(Tensor::arange(103).reshape({103, 1}), Tensor::arange(103, {.dtype = DType::int32}));
    for (const bool shuffle : {false, true}) {
      data::DataLoader whole(ds, {.batch_size = 16, .shuffle = shuffle, .seed = 4});
      std::vector<data::DataLoader> parts;
      for (int r = 0; r < 3; ++r)
        parts.emplace_back(ds,
                           data::DataLoaderOptions{.batch_size = 16, .shuffle = shuffle, .seed = 4, .shard = {r, 3}});
      for (int epoch = 0; epoch < 2; ++epoch) {
        whole.begin();
        for (auto& p : parts) p.begin();
        for (int64_t i = 0; i < whole.num_batches(); ++i) {
          std::vector<int32_t> joined;
          for (auto& p : parts) {
            CHECK(p.num_batches() == whole.num_batches());
            const auto t = p.batch(i).targets.to_int_vector();
            joined.insert(joined.end(), t.begin(), t.end());
          }
          CHECK(joined == whole.batch(i).targets.to_int_vector());  // the last batch, 7, is 3 + 2 + 2
        }
      }
    }
    CHECK(error_of([&] {
            data::DataLoader(ds, {.batch_size = 4, .shard = {-1, 2}});
          }) == "shard: part -1 of 2 does not exist");
  }

  TEST_CASE("random shifts of a rank's part, with the others' draws skipped, are the single process's") {
    Generator whole_gen(9);
    const Tensor images = Tensor::uniform({10, 1, 28, 28}, -1, 1, whole_gen);
    Generator one(5);
    const Tensor expected = data::random_shift(images, 2, -0.5f, one);
    std::vector<float> joined;
    Generator last(0);
    for (const auto& [first, end] : {std::pair{0, 4}, std::pair{4, 7}, std::pair{7, 10}}) {
      Generator rank_gen(5);
      data::skip_random_shifts(rank_gen, first, 2);
      const auto part = data::random_shift(images.slice(0, first, end), 2, -0.5f, rank_gen).to_vector();
      data::skip_random_shifts(rank_gen, 10 - end, 2);
      CHECK(rank_gen.state() == one.state());  // every rank's generator ends where the single process's does
      joined.insert(joined.end(), part.begin(), part.end());
    }
    CHECK(joined == expected.to_vector());
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
    CHECK(error_of([&] {
            data::load_image(dir / "fake.png");
          }).starts_with("load_image: " + (dir / "fake.png") + ": not a readable image ("));
    CHECK(error_of([&] { data::load_image(dir / "missing.png"); }).starts_with("load_image: " + (dir / "missing.png")));
    std::vector<uint8_t> gif = {'G', 'I', 'F', '8', '9', 'a'};
    CHECK(error_of([&] { data::decode_image(gif, "x.gif"); }) ==
          "load_image: x.gif: not a readable image (minidl reads PNG, BMP and binary PGM/PPM)");
    std::vector<uint8_t> jpeg = {0xff, 0xd8, 0xff, 0xe0};
    CHECK(error_of([&] { data::decode_image(jpeg, "x.jpg"); }) ==
          "load_image: x.jpg: JPEG is not read (the decoder minidl uses is unsafe on malformed files); convert it to "
          "PNG");
    CHECK(error_of([&] { data::save_png(dir / "x.png", Tensor::zeros({3})); }) ==
          "save_png: expected [height, width] pixels, got [3]");
  }

  TEST_CASE("images: transparency is composited onto the background, so a digit drawn in alpha alone is seen") {
    TempDir dir;
    // Colour channels all white (or all black), the picture in alpha: a gradient from clear to opaque.
    for (const uint8_t colour : {uint8_t{255}, uint8_t{0}}) {
      CAPTURE(int{colour});
      std::vector<uint8_t> rgba;
      std::vector<float> alpha;
      for (int i = 0; i < 16; ++i) {
        rgba.insert(rgba.end(), {colour, colour, colour, static_cast<uint8_t>(i * 17)});
        alpha.push_back(static_cast<float>(i * 17) / 255.f);
      }
      REQUIRE(stbi_write_png((dir / "a.png").c_str(), 4, 4, 4, rgba.data(), 16) != 0);
      for (const float background : {0.f, 1.f}) {
        const std::vector<float> got = data::load_image(dir / "a.png", 0, background).to_vector();
        for (size_t i = 0; i < got.size(); ++i) {
          const float want = static_cast<float>(colour) / 255.f * alpha[i] + background * (1.f - alpha[i]);
          CHECK(got[i] == doctest::Approx(want).epsilon(0.01));
        }
      }
    }
    CHECK(error_of([&] { data::load_image(dir / "a.png", 0, 2.f); }) ==
          "load_image: background must be in [0, 1], got 2");
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
    data::save_safetensors(p,
                           {{"w", w},
                            {"wt", w.transpose(0, 1)},
                            {"labels", Tensor::from_vector({7, -1}, {2})},
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
    CHECK(error_of([&] {
            data::load_safetensors(dir / "a");
          }).starts_with("load_safetensors: " + (dir / "a") + ": corrupt header: "));
    auto truncated = good;
    truncated.resize(truncated.size() - 3);
    write_bytes(dir / "b", truncated);
    CHECK(error_of([&] { data::load_safetensors(dir / "b"); }) ==
          "load_safetensors: " + (dir / "b") + ": tensor 'w': shape [4] needs more than the file's 13 data bytes");
    write_bytes(dir / "c", {200, 0, 0, 0, 0, 0, 0, 0, '{', '}'});
    CHECK(error_of([&] { data::load_safetensors(dir / "c"); }) ==
          "load_safetensors: " + (dir / "c") +
              ": header length 200 does not fit the file's 10 bytes (not a "
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
    CHECK(error_of([&] {
            data::save_safetensors(dir / "no/such/dir/x", {{"w", Tensor::ones({1})}});
          }).starts_with("save_safetensors: " + (dir / "no/such/dir/x") + ": cannot create "));
  }

  TEST_CASE("safetensors: every single-bit flip and every truncation is refused, naming the file") {
    TempDir dir;
    const std::string p = dir / "ck.safetensors";
    data::save_safetensors(
        p, {{"w", Tensor::arange(6).reshape({2, 3})}, {"i", Tensor::arange(2, {.dtype = DType::int32})}},
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

  TEST_CASE("safetensors: overlapping data_offsets, gaps and bytes after the data are refused, as by the reference") {
    TempDir dir;
    // Two 2-float tensors; `offsets` places them in a data section of `data_bytes` bytes.
    const auto file = [&](const std::string& name, const std::string& offsets_a, const std::string& offsets_b,
                          size_t data_bytes) {
      const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":)" + offsets_a +
                                 R"(},"b":{"dtype":"F32","shape":[2],"data_offsets":)" + offsets_b + "}}";
      std::vector<uint8_t> bytes(8);
      bytes[0] = static_cast<uint8_t>(header.size());
      bytes.insert(bytes.end(), header.begin(), header.end());
      bytes.resize(bytes.size() + data_bytes, 0);
      write_bytes(dir / name, bytes);
      return dir / name;
    };
    CHECK(data::load_safetensors(file("ok", "[0,8]", "[8,16]", 16)).tensors.size() == 2);
    CHECK(error_of([&] { data::load_safetensors(file("overlap", "[0,8]", "[0,8]", 8)); }) ==
          "load_safetensors: " + (dir / "overlap") +
              ": tensor 'b': data_offsets [0, 8] overlap the previous tensor's (8)");
    CHECK(error_of([&] { data::load_safetensors(file("trailing", "[0,8]", "[8,16]", 20)); }) ==
          "load_safetensors: " + (dir / "trailing") +
              ": 4 bytes after the last tensor's data (the header accounts for 16 of 20)");
    CHECK(error_of([&] { data::load_safetensors(file("gap", "[0,8]", "[12,20]", 20)); }) ==
          "load_safetensors: " + (dir / "gap") + ": tensor 'b': data_offsets [12, 20] leave a gap after byte (8)");
  }

  TEST_CASE("a save never writes through a link planted at a temporary's name, and leaves no temporary behind") {
    TempDir shared;  // a directory another user may write to, as a shared checkpoint folder
    fs::permissions(shared.path, fs::perms::all);
    const std::string ck = shared / "ck.safetensors";
    const Victim victim(shared / "victim");
    // The names minidl used to write through: "<file>.tmp.<pid>", for this process and the next ones.
    for (int pid = ::getpid(); pid < ::getpid() + 50; ++pid)
      plant_link(victim.path, ck + ".tmp." + std::to_string(pid));
    plant_link(victim.path, ck);  // and the target itself: replaced by the rename, not written through
    data::save_safetensors(ck, {{"w", Tensor::ones({3})}});
    CHECK(victim.intact());
    CHECK(!fs::is_symlink(ck));
    CHECK(data::load_safetensors(ck).tensors[0].second.to_vector() == std::vector<float>(3, 1.f));
    // The same on a filesystem without unnamed temporaries: the name is random, created exclusively.
    const bool before = data::use_unnamed_temporaries(false);
    data::save_safetensors(ck, {{"w", Tensor::zeros({3})}});
    data::use_unnamed_temporaries(before);
    CHECK(victim.intact());
    CHECK(data::load_safetensors(ck).tensors[0].second.to_vector() == std::vector<float>(3, 0.f));
    size_t temporaries = 0;
    for (const std::string& name : listing(shared.path))
      temporaries += name.starts_with("ck.safetensors.tmp.") && name.size() == 35;
    CHECK(temporaries == 0);
  }

  TEST_CASE(
      "a save removes a leftover temporary only when its writer is gone: unlocked, its user's, over a minute old") {
    TempDir dir;
    const std::string ck = dir / "ck.safetensors";
    const auto leftover = [&](const std::string& digits, int age) {
      const std::string path = ck + ".tmp." + digits;
      write_bytes(path, {1, 2, 3});
      make_old(path, age);
      return path;
    };
    const std::string dead = leftover("00000000000000a1", 120);
    const std::string young = leftover("00000000000000a2", 5);  // a writer between open and lock
    const std::string live = leftover("00000000000000a3", 120);
    const int held = ::open(live.c_str(), O_RDONLY);  // a live writer (in any pid namespace) holds its lock
    REQUIRE(::flock(held, LOCK_EX) == 0);
    const std::string not_ours = leftover("00000000000000a4", 120);
    if (can_act_as_others()) REQUIRE(::chown(not_ours.c_str(), kOtherUser, kOtherUser) == 0);
    const std::string other_name = dir / "other.safetensors.tmp.00000000000000a5";
    write_bytes(other_name, {1});
    make_old(other_name, 120);
    data::save_safetensors(ck, {{"w", Tensor::ones({1})}});
    CHECK(!fs::exists(dead));
    CHECK(fs::exists(young));
    CHECK(fs::exists(live));
    CHECK(fs::exists(not_ours) == can_act_as_others());
    CHECK(fs::exists(other_name));  // another target's: not this save's business
    ::close(held);
  }

  TEST_CASE("a FIFO, a directory or a device given as data, checkpoint or image is refused at once, not waited on") {
    TempDir dir;
    const std::string fifo = dir / "fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const std::pair<const char*, std::function<void(const std::string&)>> readers[] = {
        {"read_idx", [](const std::string& p) { data::read_idx(p); }},
        {"load_safetensors", [](const std::string& p) { data::load_safetensors(p); }},
        {"load_image", [](const std::string& p) { data::load_image(p); }},
    };
    for (const auto& op_read_ : readers) {
      const auto& op = std::get<0>(op_read_);
      const auto& read = std::get<1>(op_read_);
      CAPTURE(op);
      std::thread release = release_fifo_after(fifo, 2.0);
      const auto start = std::chrono::steady_clock::now();
      const std::string e = error_of([&] { read(fifo); });
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      release.join();
      CHECK(e == std::string(op) + ": " + fifo + ": not a regular file (a FIFO); give a file");
      CHECK(seconds < 1.0);
      CHECK(error_of([&] { read(dir.path.string()); }) ==
            std::string(op) + ": " + dir.path.string() + ": not a regular file (a directory); give a file");
      CHECK(error_of([&] { read("/dev/zero"); }) ==
            std::string(op) + ": /dev/zero: not a regular file (a device or socket); give a file");
    }
  }

  TEST_CASE("data read from a file stays valid when the file is truncated afterwards (no mapping to lose)") {
    TempDir dir;
    std::vector<uint8_t> pixels(5 * 784);
    for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 7);
    write_bytes(dir / "images", idx({5, 28, 28}, pixels));
    const data::IdxArray a = data::read_idx(dir / "images");
    fs::resize_file(dir / "images", 0);  // what another process did during a run: SIGBUS on a mapping
    CHECK(std::vector<uint8_t>(a.data.begin(), a.data.end()) == pixels);
  }

  TEST_CASE("mnist_preprocess centres a digit by its mass, keeps its aspect ratio, leaves a blank image blank") {
    // The centre of mass in pixel indices and the box of the pixels above `above`.
    struct Seen {
      double cy = 0, cx = 0;
      int64_t top = 99, bottom = -1, left = 99, right = -1;
    };
    const auto seen = [](const Tensor& image, float above) {
      Seen s;
      double mass = 0;
      const std::vector<float> v = image.to_vector();
      for (int64_t r = 0; r < 28; ++r)
        for (int64_t c = 0; c < 28; ++c) {
          const double x = v[static_cast<size_t>(r * 28 + c)];
          mass += x, s.cy += x * static_cast<double>(r), s.cx += x * static_cast<double>(c);
          if (x > above)
            s.top = std::min(s.top, r), s.bottom = std::max(s.bottom, r), s.left = std::min(s.left, c),
            s.right = std::max(s.right, c);
        }
      s.cy /= mass, s.cx /= mass;
      return s;
    };
    // A small "L" (4 wide, 6 tall) in the top-left corner of a 40×30 image: grown to 20 tall
    // (scale 20/6, bilinear), 13 wide, and moved so its centre of mass is within ½ pixel of (14, 14).
    Tensor small = Tensor::zeros({40, 30});
    for (int r = 2; r < 8; ++r) small.data<float>()[r * 30 + 1] = 1.f;
    for (int c = 1; c < 5; ++c) small.data<float>()[7 * 30 + c] = 1.f;
    const Tensor l = data::mnist_preprocess(small);
    CHECK(l.shape() == Shape{28, 28});
    const Seen a = seen(l, 0.f);
    CHECK(std::fabs(a.cy - 14) <= 0.5);
    CHECK(std::fabs(a.cx - 14) <= 0.5);
    CHECK(a.bottom - a.top + 1 == 20);
    CHECK(a.right - a.left + 1 == 13);  // 4 · 20/6 = 13.3, rounded
    // A wide bar (60×10 of 1 in a 100×100 image, off-centre): shrunk by area averaging to 20×3
    // (10 · 20/60 = 3.33, rounded): every output pixel is a full average of ones, so still 1.
    Tensor wide = Tensor::zeros({100, 100});
    for (int r = 70; r < 80; ++r)
      for (int c = 5; c < 65; ++c) wide.data<float>()[r * 100 + c] = 1.f;
    const Tensor w = data::mnist_preprocess(wide);
    const Seen b = seen(w, 0.f);
    CHECK(b.right - b.left + 1 == 20);
    CHECK(b.bottom - b.top + 1 == 3);
    CHECK(std::fabs(b.cy - 14) <= 0.5);
    CHECK(std::fabs(b.cx - 14) <= 0.5);
    CHECK(max(w).item() == doctest::Approx(1.0).epsilon(1e-6));  // area weights sum to 1 (in double)
    CHECK(sum(w).item() == doctest::Approx(60.0).epsilon(1e-5));
    // Blank, and below the threshold, stay blank.
    CHECK(max(data::mnist_preprocess(Tensor::zeros({28, 28}))).item() == 0.f);
    CHECK(max(data::mnist_preprocess(Tensor::full({50, 20}, 0.05f))).item() == 0.f);
    CHECK(error_of([] {
            data::mnist_preprocess(Tensor::zeros({784}));
          }).starts_with("mnist_preprocess: expected [height, width] pixels, got "));
  }

  TEST_CASE("mnist_preprocess leaves real MNIST test digits as they are, when data/mnist is present") {
    const std::string dir = std::string(MINIDL_SOURCE_DIR) + "/data/mnist";
    if (!fs::exists(dir + "/t10k-images-idx3-ubyte"))
      SKIP_TEST("no MNIST in " + dir + " (scripts/fetch-mnist puts it there)");
    // MNIST's digits were prepared this way, so for a digit whose box of pixels above the threshold t
    // has a longer side of 20, the scale is 1 (the taps are the identity, exact in double) and its
    // centre of mass is already within [13.5, 14.5] (shift 0). What can change: pixels ≤ t outside
    // that box are cropped, so no pixel changes by more than t; and cropping moves the centre of mass
    // a little, which for a digit near a half-pixel boundary can tip the shift to one pixel: such a
    // digit is the input moved by one pixel, again up to t. A few digits have a longer side of 19
    // in MNIST itself (cut at its border, or its own rounding): those are grown to 20.
    const data::IdxArray images = data::read_idx(dir + "/t10k-images-idx3-ubyte");
    const float t = data::MnistLayout{}.threshold;
    const auto off_by = [](const std::vector<float>& out, const std::vector<float>& in, int dy, int dx) {
      float worst = 0;  // max |out(r, c) − in(r − dy, c − dx)|, 0 outside `in`
      for (int r = 0; r < 28; ++r)
        for (int c = 0; c < 28; ++c) {
          const int sr = r - dy, sc = c - dx;
          const float was = sr >= 0 && sr < 28 && sc >= 0 && sc < 28 ? in[static_cast<size_t>(sr * 28 + sc)] : 0.f;
          worst = std::max(worst, std::fabs(out[static_cast<size_t>(r * 28 + c)] - was));
        }
      return worst;
    };
    struct Box {
      int top = 28, bottom = -1, left = 28, right = -1;
      int longer() const { return std::max(bottom - top + 1, right - left + 1); }
      bool at_edge() const { return top == 0 || left == 0 || bottom == 27 || right == 27; }
    };
    const auto box_above = [](const std::vector<float>& v, float threshold) {
      Box b;
      for (int p = 0; p < 784; ++p)
        if (v[static_cast<size_t>(p)] > threshold)
          b.top = std::min(b.top, p / 28), b.bottom = std::max(b.bottom, p / 28), b.left = std::min(b.left, p % 28),
          b.right = std::max(b.right, p % 28);
      return b;
    };
    int64_t unchanged = 0, moved = 0, grown = 0;
    const int64_t n = 10000;
    for (int64_t i = 0; i < n; ++i) {
      std::vector<float> px(784);
      for (size_t p = 0; p < 784; ++p) px[p] = images.data[static_cast<size_t>(i) * 784 + p] / 255.f;
      const std::vector<float> out = data::mnist_preprocess(Tensor::from_vector(px, {28, 28})).to_vector();
      CAPTURE(i);
      if (const Box in = box_above(px, t); in.longer() != 20) {
        // Rescaled to 20 (counted above 0: bilinear blending may bring an edge pixel under t), unless
        // MNIST had cut the digit at its border: centring then moves part of it out again.
        CHECK((in.at_edge() || box_above(out, 0.f).longer() == 20));
        ++grown;
      } else if (off_by(out, px, 0, 0) <= t) {
        ++unchanged;
      } else {
        bool one_pixel = false;
        for (int dy = -1; dy <= 1; ++dy)
          for (int dx = -1; dx <= 1; ++dx) one_pixel = one_pixel || off_by(out, px, dy, dx) <= t;
        CHECK_MESSAGE(one_pixel, "changed by more than ", t, " and is not itself moved by one pixel");
        ++moved;
      }
    }
    MESSAGE(unchanged, " of ", n, " MNIST test digits unchanged up to the threshold ", t, ", ", moved,
            " moved by one pixel, ", grown, " grown to 20 pixels");
    CHECK(unchanged > moved + grown);  // the point: MNIST is (nearly all) a fixed point of its own recipe
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
