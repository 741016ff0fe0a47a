// Training progress on the terminal: a live bar with running loss, images/s and ETA when stdout
// is a terminal; nothing until the epoch's summary line otherwise (logs stay one line per epoch).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace minidl::cli {

class Progress {
 public:
  Progress(std::string label, int64_t total_batches, bool live);
  /// After each batch: batches done, images done, running mean loss.
  void update(int64_t batches, int64_t images, double loss);
  /// Clears the bar so the next line starts clean.
  void finish();
  double seconds() const;

 private:
  std::string label_;
  int64_t total_;
  bool live_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

/// True when stdout is a terminal (so a redrawn progress bar makes sense).
bool stdout_is_terminal();

}  // namespace minidl::cli
