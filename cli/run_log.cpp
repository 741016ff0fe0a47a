#include "cli/run_log.h"

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "core/allocator.h"
#include "core/backend.h"
#include "optim/options.h"
#include "data/atomic_file.h"
#include "run/summary.h"
#include "run/trainer.h"

namespace minidl::cli {

RunLog::RunLog(const TrainArgs& args, const TrainConfig& config, Device device)
    : args_(args), config_(config), device_(device) {
  record_ = {.command = command_line(),
             .started = local_time_now(),
             .config = config,
             .device = device.str(),
             .blas_core = blas_core(),
             .threads = num_threads(),
             .telemetry = args.telemetry};
}

void RunLog::header(const std::string& description, int64_t start_epoch, int64_t resume_batch) {
  record_.description = description;
  record_.resumed_after_epoch = start_epoch;
  if (args_.quiet) return;
  std::printf("minidl train: %s%s\n", description.c_str(),
              device_.is_cpu() ? "" : str_cat(", on ", device_, " (", cuda::device_name(device_.index), ")").c_str());
  if (!args_.resume.empty())
    std::printf("resuming from %s after epoch %lld%s\n", args_.resume.c_str(), static_cast<long long>(start_epoch),
                resume_batch ? str_cat(", batch ", resume_batch).c_str() : "");
  std::fflush(stdout);
}

void RunLog::on_step_begin(const run::Trainer&) {
  if (startup_seconds_ < 0) startup_seconds_ = run::seconds_since_process_start();
}

void RunLog::on_step(const run::Trainer&, const run::StepReport& s) {
  if (record_.step_loss.empty()) record_.first_step = s.step;
  record_.step_loss.push_back(static_cast<float>(s.loss));
  record_.step_lr.push_back(static_cast<float>(s.lr));
}

void RunLog::on_evaluation(const run::Trainer&, const run::EvalReport& e) {
  const EpochRecord r{.epoch = e.epoch,
                      .steps = e.step,
                      .skipped = e.skipped,
                      .train_loss = e.train_loss,
                      .test_loss = e.metric("test_loss"),
                      .test_accuracy = e.metric("test_accuracy"),
                      .train_seconds = e.train_seconds,
                      .eval_seconds = e.eval_seconds,
                      .lr = e.lr};
  total_seconds_ += r.train_seconds;
  record_.epochs.push_back(r);
  epochs_.push_back(
      {{"epoch", r.epoch},
       {"lr", std::strtod(optim::format_option(static_cast<float>(r.lr)).c_str(), nullptr)},  // its shortest text
       {"train_loss", r.train_loss},
       {"test_loss", r.test_loss},
       {"test_accuracy", r.test_accuracy},
       {"train_seconds", r.train_seconds},
       {"eval_seconds", r.eval_seconds},
       {"skipped_steps", r.skipped},
       {"steps", r.steps},
       {"peak_rss_mib", peak_rss_mib()}});
  if (device_.is_cuda()) {  // a loop in steady state allocates no device memory after its first epoch
    epochs_.back()["cuda_malloc_calls"] = cuda::malloc_calls();
    epochs_.back()["cuda_peak_mib"] = static_cast<double>(memory_stats(device_).peak_bytes_in_use) / (1 << 20);
  }
  if (!args_.quiet) {
    std::printf("epoch %lld/%lld  train loss %.4f  test loss %.4f  test acc %.2f%%  %.2fs  (lr %.4g)",
                static_cast<long long>(r.epoch), static_cast<long long>(config_.epochs), r.train_loss, r.test_loss,
                100 * r.test_accuracy, r.train_seconds, r.lr);
    if (r.skipped) std::printf("  %lld non-finite steps skipped", static_cast<long long>(r.skipped));
    std::printf("\n");
  }
  std::fflush(stdout);
}

void RunLog::finish(double final_accuracy, const std::string& last_checkpoint) {
  record_.final_accuracy = final_accuracy;
  record_.checkpoint = last_checkpoint;
  if (!args_.summary.empty()) {
    nlohmann::json summary = {{"config", nlohmann::json::parse(to_json(config_))},
                              {"threads", num_threads()},
                              {"blas_core", blas_core()},
                              {"gemm", device_.is_cpu() ? gemm_library() : "cublas"},
                              {"device", device_.str()},
                              {"startup_seconds", startup_seconds_},
                              {"epochs", epochs_},
                              {"final_test_accuracy", final_accuracy},
                              {"peak_rss_mib", peak_rss_mib()}};
    add_to_summary(summary, record_);
    data::write_text_atomically(args_.summary, summary.dump(1) + '\n', "--summary");
  }
  if (args_.quiet) return;
  std::printf("final test accuracy %.2f%% after %lld epoch%s (%.1fs of training)\n", 100 * final_accuracy,
              static_cast<long long>(config_.epochs), config_.epochs == 1 ? "" : "s", total_seconds_);
  if (!last_checkpoint.empty()) std::printf("checkpoint: %s\n", last_checkpoint.c_str());
}

}  // namespace minidl::cli
