// Training progress on the terminal (run::ProgressBar is the Trainer's hook): a live bar with running loss, images/s and ETA when stdout
// is a terminal; nothing until the epoch's summary line otherwise (logs stay one line per epoch).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <minidl/run/hook.h>

namespace minidl::run {

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

/// A Trainer's live bar: one per epoch ("epoch 2/5"), or one for the whole run in steps mode.
class ProgressBar : public Hook {
 public:
  /// `live` false: draws nothing (a log file, a rank other than 0).
  explicit ProgressBar(bool live = stdout_is_terminal()) : live_(live) {}
  void on_start(const Trainer& trainer) override;
  void on_epoch_begin(const Trainer& trainer, int64_t epoch) override;
  void on_step(const Trainer& trainer, const StepReport& step) override;
  void on_epoch_end(const Trainer&, int64_t) override { finish(); }
  void on_stop(const Trainer&, const Outcome&) override { finish(); }
  void on_end(const Trainer&) override { finish(); }

 private:
  void finish();
  bool live_;
  std::optional<Progress> bar_;
};

}  // namespace minidl::run
