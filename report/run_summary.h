// A training run as a report reads it: the --summary JSON that `minidl train` writes (its settings,
// per-epoch losses, accuracy and timings, the command line, when it started, its header line,
// every step's training loss and lr, and the telemetry file and last checkpoint it wrote). The
// settings (`config`) are kept as the JSON the run wrote: what they mean depends on the kind of run,
// which the program that ran it describes to the report (report/report.h, Describer).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace minidl::report {

/// One finished epoch, as reported.
struct EpochRecord {
  int64_t epoch = 0;  // 1-based
  int64_t steps = 0, skipped = 0;
  double train_loss = 0, test_loss = 0, test_accuracy = 0, train_seconds = 0, eval_seconds = 0, lr = 0;
};

struct RunSummary {
  std::string source{};       // the file it was read from; "" for a run in this process
  std::string command{};      // the command line that ran it
  std::string started{};      // local time, "2025-11-30 15:40:02 +0100"
  std::string description{};  // the run's header line: data, model, optimizer and options, schedule, batch…
  std::string config = "{}";  // the run's settings: the summary's "config" object, as JSON text ("{}"
                              // when a kind of run writes them as a string, which its Describer reads from `json`)
  std::string device = "cpu", blas_core{};
  int threads = 0;
  std::vector<EpochRecord> epochs{};
  int64_t first_step = 1;  // the number of step_loss[0]: a resumed run's steps continue its checkpoint's
  std::vector<float> step_loss{}, step_lr{};  // per optimizer step: the batch's loss (before the update), the lr
  double final_accuracy = NAN;
  std::string telemetry{}, checkpoint{};  // files the run wrote, "" for none
  int64_t resumed_after_epoch = 0;        // 0: a run from scratch
  double step_seconds = NAN;  // a run by steps without evaluations as rows: its "train_seconds"
  /// The whole summary as it was read (JSON text; "" for one made in memory): the fields a kind of
  /// run adds (a language model's losses per evaluation, its samples), for the sections it adds.
  std::string json{};

  /// The run's training seconds (all epochs; step_seconds when it has none).
  double train_seconds() const;
};

/// The largest run summary a report reads (a 100-epoch run's is a few MB), and its telemetry.
constexpr size_t kMaxSummaryBytes = size_t{32} << 20, kMaxTelemetryBytes = size_t{512} << 20;

/// Reads a --summary file (one from before steps were recorded has no step curves). Error naming
/// the file when it is not one, or when it is not a regular file of at most kMaxSummaryBytes.
RunSummary read_summary(const std::string& path);
/// The same from a summary's text (`path` names it in errors): what tests/fuzz/fuzz_summary.cpp feeds.
RunSummary summary_from_text(std::string_view text, const std::string& path);

/// A file that a summary names (its telemetry, its checkpoint): as recorded, or the file of that
/// name beside the summary, and only when it is inside the summary's own directory once links are
/// resolved. "" when there is none; then `why_not` says why, when the file exists but is elsewhere.
/// A summary that was not read from a file (a live run's) names its own files: they are returned
/// as they are. A named file that is not a regular file (a FIFO, a device, a directory) is an Error.
std::string file_named_by(const RunSummary& summary, const std::string& named, std::string* why_not);

}  // namespace minidl::report
