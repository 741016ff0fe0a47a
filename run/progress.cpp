#include "run/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "core/error.h"
#include "run/trainer.h"

namespace minidl::run {

using Clock = std::chrono::steady_clock;

bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }

Progress::Progress(std::string label, int64_t total_batches, bool live)
    : label_(std::move(label)), total_(total_batches), live_(live), start_(Clock::now()), last_draw_(start_) {}

double Progress::seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

void Progress::update(int64_t batches, int64_t images, double loss) {
  if (!live_) return;
  const auto now = Clock::now();
  if (batches < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;  // ~10 redraws a second
  last_draw_ = now;
  const double elapsed = seconds(), rate = elapsed > 0 ? images / elapsed : 0;
  const double eta = batches > 0 ? elapsed * static_cast<double>(total_ - batches) / batches : 0;
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(kWidth * batches / std::max<int64_t>(total_, 1));
  std::printf("\r%s [%s%s] %lld/%lld  loss %.4f  %.0f img/s  ETA %.1fs\033[K", label_.c_str(),
              std::string(static_cast<size_t>(filled), '#').c_str(),
              std::string(static_cast<size_t>(kWidth - filled), '-').c_str(), static_cast<long long>(batches),
              static_cast<long long>(total_), loss, rate, eta);
  std::fflush(stdout);
}

void Progress::finish() {
  if (!live_) return;
  std::printf("\r\033[K");
  std::fflush(stdout);
}

void ProgressBar::on_start(const Trainer& trainer) {
  if (trainer.options().steps > 0) bar_.emplace("steps", trainer.options().steps, live_);
}

void ProgressBar::on_epoch_begin(const Trainer& trainer, int64_t epoch) {
  if (trainer.options().epochs > 0)
    bar_.emplace(str_cat("epoch ", epoch + 1, "/", trainer.options().epochs), trainer.source().batches_per_epoch(),
                 live_);
}

void ProgressBar::on_step(const Trainer& trainer, const StepReport& s) {
  if (bar_) bar_->update(trainer.options().steps > 0 ? s.step : s.batch, s.seen, s.mean_loss);
}

void ProgressBar::finish() {
  if (bar_) bar_->finish();
}

}  // namespace minidl::run
