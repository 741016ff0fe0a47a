#include "run/summary.h"

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "data/atomic_file.h"
#include "run/trainer.h"

namespace minidl::run {

// Seconds since this process was started (exec), so start-up includes loading the shared libraries:
// the kernel's start time is in clock ticks since boot (10 ms resolution).
double seconds_since_process_start() {
  std::ifstream stat("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');  // the command name may hold spaces; fields follow it
  if (close == std::string::npos) return -1;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i == 22) {
      timespec now{};
      clock_gettime(CLOCK_BOOTTIME, &now);
      return static_cast<double>(now.tv_sec) + now.tv_nsec * 1e-9 - std::stod(field) / sysconf(_SC_CLK_TCK);
    }
  }
  return -1;
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
}

void Summary::on_step_begin(const Trainer&) {
  if (startup_seconds_ < 0) startup_seconds_ = seconds_since_process_start();
}

void Summary::on_step(const Trainer&, const StepReport& s) {
  if (step_loss_.empty()) first_step_ = s.step;
  steps_ = s.step;
  step_loss_.push_back(static_cast<float>(s.loss));
  step_lr_.push_back(static_cast<float>(s.lr));
}

void Summary::on_evaluation(const Trainer&, const EvalReport& e) {
  evaluations_.push_back(e);
  eval_rss_mib_.push_back(peak_rss_mib());
  train_seconds_ += e.train_seconds;
  steps_ = e.step;
}

std::string Summary::json(const std::map<std::string, std::string>& extra) const {
  nlohmann::json evaluations = nlohmann::json::array();
  for (size_t i = 0; i < evaluations_.size(); ++i) {
    const EvalReport& e = evaluations_[i];
    nlohmann::json entry = {{"step", e.step}, {"epoch", e.epoch}, {"lr", e.lr}, {"train_loss", e.train_loss}};
    for (const auto& [name, value] : e.metrics) entry[name] = value;
    entry.update({{"train_seconds", e.train_seconds}, {"eval_seconds", e.eval_seconds},
                  {"skipped_steps", e.skipped}, {"peak_rss_mib", eval_rss_mib_[i]}});
    evaluations.push_back(std::move(entry));
  }
  nlohmann::json out = {{"steps", steps_}, {"train_seconds", train_seconds_}};
  if (!evaluations_.empty())
    for (const auto& [name, value] : evaluations_.back().metrics) out[name] = value;
  out.update({{"evaluations", evaluations}, {"first_step", first_step_}, {"step_loss", step_loss_},
              {"step_lr", step_lr_}, {"startup_seconds", startup_seconds_}, {"peak_rss_mib", peak_rss_mib()}});
  for (const auto& [key, text] : extra) {
    try {
      out[key] = nlohmann::json::parse(text);
    } catch (const std::exception& e) {
      fail("run::Summary: the entry '", key, "' is not JSON: ", e.what());
    }
  }
  return out.dump(1) + '\n';
}

void Summary::write(const std::string& path, const std::map<std::string, std::string>& extra,
                    const std::string& flag) const {
  data::write_text_atomically(path, json(extra), flag.c_str());
}

}  // namespace minidl::run
