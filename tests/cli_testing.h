// What the CLI tests share: running `minidl` (MINIDL_BIN) and waiting for it, reading files, and a
// tiny dataset in MNIST's layout that the tests write, so they run anywhere.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <minidl/minidl.h>

namespace {

struct Run {
  int code;
  std::string output;  // stdout and stderr
};

// `within`: a time limit in seconds (coreutils' timeout: exit 124 when it had to stop the run), 0
// for none; `memory_kib`: a limit on the address space (ulimit -v), 0 for none.
// Runs a shell command line to its end: its exit code (-1 if a signal ended it) and its output.
inline Run run_shell(const std::string& cmd) {
  FILE* pipe = ::popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

inline Run run_minidl(const std::string& args, int within = 0, long memory_kib = 0) {
  // OMP_WAIT_POLICY=passive: idle OpenMP threads sleep instead of spinning against OpenBLAS's.
  return run_shell((memory_kib ? "ulimit -v " + std::to_string(memory_kib) + "; " : std::string()) +
                   "OMP_WAIT_POLICY=passive " + (within ? "timeout " + std::to_string(within) + " " : std::string()) +
                   std::string(MINIDL_BIN) + " " + args + " 2>&1");
}

// Starts minidl in the background (output to `log`) and returns its pid (minidl's own: the shell
// execs it). `env`: variable assignments for it, e.g. "MINIDL_CACHE_DIR=/x ".
// Starts a shell command line in the background and returns the shell's pid (the program's own when
// the line execs it).
inline pid_t spawn_shell(const std::string& cmd) {
  // Everything is prepared before fork(): between fork and exec the child may not allocate (another
  // thread could hold the allocator's lock — it did under ASan, and the child hung).
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

inline pid_t spawn_minidl(const std::string& args, const std::string& log, const std::string& env = "") {
  return spawn_shell(env + "exec " + std::string(MINIDL_BIN) + " " + args + " > " + log + " 2>&1");
}

// Waits for pid; the exit code, or 128 + the signal that ended it.
inline int wait_for(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Loads a checkpoint the way minidl does (through eval's checks): throws if it is damaged.
inline void cli_load(const std::string& path) {
  const Run r = run_minidl("eval --checkpoint " + path + " --data /nonexistent");
  // eval reads the checkpoint before the data: "no mnist data" means the checkpoint was fine.
  if (r.output.find("no mnist data") == std::string::npos) throw minidl::Error(r.output);
}

inline size_t lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Returns once a run logging to `log` has finished its first epoch (up to five minutes: a loaded machine
// or the sanitizers make start-up slow).
inline void wait_for_training(const std::string& log) {
  for (int wait = 0; wait < 30000 && slurp(log).find("epoch 1/") == std::string::npos; ++wait)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

inline void write_idx(const std::string& path, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out = {0, 0, 0x08, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(d >> s));
  out.insert(out.end(), data.begin(), data.end());
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(out.data()), std::streamsize(out.size()));
}

// An easy 10-class dataset in MNIST's layout: class k lights rows 2k+3 and 2k+4, plus noise.
inline std::vector<uint8_t> image_of(int label, uint32_t seed) {
  std::vector<uint8_t> px(784);
  for (int p = 0; p < 784; ++p) {
    const int row = p / 28;
    seed = seed * 1664525u + 1013904223u;
    px[p] = static_cast<uint8_t>((row == 2 * label + 3 || row == 2 * label + 4 ? 200 : 0) + (seed >> 27));
  }
  return px;
}

// An easy 10-class dataset whose digits are already prepared as MNIST's were (what predict does to an
// image: data::mnist_preprocess), so that predict shows and classifies them as they are. Class k
// lights rows 5+k and 23−k (one row for k = 9) across columns 4–23: a box 20 wide, rows symmetric
// about 14. The left half is 160 and the right half 200, which puts the centre of mass near column
// 14 (at 13.5 a half-pixel tie would decide the shift); noise 0–7 stays below the 0.1 threshold.
// So the digit's box is 20 wide (scale 1), its centre of mass is within half a pixel of (14, 14)
// (shift 0), and preprocessing only crops the noise outside the box.
inline std::vector<uint8_t> prepared_image_of(int label, uint32_t seed) {
  std::vector<uint8_t> px(784);
  for (int p = 0; p < 784; ++p) {
    const int row = p / 28, col = p % 28;
    seed = seed * 1664525u + 1013904223u;
    const bool lit = (row == 5 + label || row == 23 - label) && col >= 4 && col <= 23;
    px[p] = static_cast<uint8_t>((lit ? (col < 14 ? 160 : 200) : 0) + (seed >> 29));
  }
  return px;
}

enum class Digits { bars, mnist_prepared };  // image_of's or prepared_image_of's

inline std::vector<uint8_t> digit_of(Digits digits, int label, uint32_t seed) {
  return digits == Digits::bars ? image_of(label, seed) : prepared_image_of(label, seed);
}

struct TinyMnist {
  std::filesystem::path dir;
  explicit TinyMnist(Digits digits = Digits::bars)
      : dir(std::filesystem::temp_directory_path() / ("minidl-cli-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(dir);
    for (const auto& [split, n] : {std::pair{std::string("train"), 300u}, std::pair{std::string("t10k"), 100u}}) {
      std::vector<uint8_t> images, labels;
      for (uint32_t i = 0; i < n; ++i) {
        const auto px = digit_of(digits, static_cast<int>(i % 10), i + (split == "t10k" ? 7777 : 0));
        images.insert(images.end(), px.begin(), px.end());
        labels.push_back(static_cast<uint8_t>(i % 10));
      }
      write_idx((dir / (split + "-images-idx3-ubyte")).string(), {n, 28, 28}, images);
      write_idx((dir / (split + "-labels-idx1-ubyte")).string(), {n}, labels);
    }
  }
  ~TinyMnist() { std::filesystem::remove_all(dir); }
  std::string operator/(const std::string& name) const { return (dir / name).string(); }
  std::string data() const { return "--data " + dir.string(); }
};

}  // namespace
