#include "run/metrics_log.h"

#include <cmath>
#include <sstream>

#include "data/atomic_file.h"
#include "optim/options.h"
#include "run/trainer.h"

namespace minidl::run {

MetricsLog::MetricsLog(const std::string& path, std::vector<std::string> metrics, Options options)
    : file_(std::make_unique<data::OutputFile>(path, options.flag.c_str(), options.append)),
      metrics_(std::move(metrics)),
      options_(std::move(options)) {
  if (options_.append) return;
  std::string header = "kind,epoch,step,lr,train_loss,";
  for (const std::string& m : metrics_) header += m + ',';
  file_->write(header + "seconds\n");
}

MetricsLog::~MetricsLog() = default;

// A --log-every window does not cross an epoch's end: a run resumed from this epoch's checkpoint
// starts a fresh window there, so its first step row equals the uninterrupted run's.
void MetricsLog::on_epoch_begin(const Trainer&, int64_t) { window_loss_ = 0, window_ = 0; }

void MetricsLog::on_step(const Trainer&, const StepReport& s) {
  window_loss_ += s.loss;
  ++window_;
  if (options_.log_every <= 0 || s.step % options_.log_every != 0) return;
  std::ostringstream row;
  row << "step," << s.epoch + 1 << ',' << s.step << ',' << optim::format_option(static_cast<float>(s.lr)) << ','
      << window_loss_ / static_cast<double>(window_) << std::string(metrics_.size() + 1, ',') << s.seconds << '\n';
  file_->write(row.str());
  window_loss_ = 0, window_ = 0;
}

void MetricsLog::on_evaluation(const Trainer& t, const EvalReport& r) {
  window_loss_ = 0, window_ = 0;
  std::ostringstream row;
  row << (t.options().epochs > 0 ? "epoch," : "eval,") << r.epoch << ',' << r.step << ',' << optim::format_option(static_cast<float>(r.lr)) << ','
      << r.train_loss;
  for (const std::string& m : metrics_) {
    row << ',';
    for (const auto& [name, value] : r.metrics)
      if (name == m) row << value;
  }
  row << ',' << r.train_seconds << '\n';
  file_->write(row.str());
}

}  // namespace minidl::run
