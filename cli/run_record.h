// A training run as minidl keeps it on disk: the --summary JSON. Besides the settings, the
// per-epoch losses, accuracy and timings it always held, it records what a report draws: the
// command line, when the run started, its header line, every step's training loss and lr, and the
// telemetry file and last checkpoint it wrote. `minidl report RUN.json` draws the run from it;
// the parts that need the trained model (confusion matrix, wrong digits, weights) come from the
// checkpoint it names, when that is still there.
#pragma once

#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "cli/config.h"

namespace minidl::cli {

/// One finished epoch, as reported.
struct EpochRecord {
  int64_t epoch = 0;  // 1-based
  int64_t steps = 0, skipped = 0;
  double train_loss = 0, test_loss = 0, test_accuracy = 0, train_seconds = 0, eval_seconds = 0, lr = 0;
};

struct RunRecord {
  std::string source{};       // the file it was read from; "" for the run in this process
  std::string command{};      // the command line that ran it
  std::string started{};      // local time, "2025-11-30 15:40:02 +0100"
  std::string description{};  // the run's header line: data, model, optimizer and options, schedule, batch…
  TrainConfig config{};
  std::string device = "cpu", blas_core{};
  int threads = 0;
  std::vector<EpochRecord> epochs{};
  int64_t first_step = 1;  // the number of step_loss[0]: a resumed run's steps continue its checkpoint's
  std::vector<float> step_loss{}, step_lr{};  // per optimizer step: the batch's loss (before the update), the lr
  double final_accuracy = NAN;
  std::string telemetry{}, checkpoint{};  // files the run wrote, "" for none
  int64_t resumed_after_epoch = 0;        // 0: a run from scratch

  /// The run's training seconds (all epochs).
  double train_seconds() const;
};

/// Adds the record's own fields to a --summary object: command, started, description,
/// first_step, steps {loss: [...], lr: [...]} (5 significant digits), telemetry, checkpoint,
/// resumed_after_epoch.
void add_to_summary(nlohmann::json& summary, const RunRecord& record);

/// Reads a --summary file written by `minidl train` (one from before steps were recorded has no
/// step curves). Error naming the file when it is not one.
RunRecord read_run_record(const std::string& path);
/// The same from a summary's text (`path` names it in errors): what tests/fuzz/fuzz_summary.cpp feeds.
RunRecord run_record_from_text(std::string_view text, const std::string& path);

/// The largest run summary `report` reads (a 100-epoch run's is a few MB), and its telemetry.
constexpr size_t kMaxSummaryBytes = size_t{32} << 20, kMaxTelemetryBytes = size_t{512} << 20;

/// JSON text of a file `report` reads, parsed with bounded cost: at most 64 levels of nesting, an
/// allocation failure and a syntax error are Errors naming `path` (a syntax error by its byte
/// offset only: no byte of a file that is not valid JSON reaches a message).
nlohmann::json parse_report_json(std::string_view text, const std::string& path, const char* what);

/// A file that a summary read by `report` names (its telemetry, its checkpoint): as recorded, or
/// the file of that name beside the summary, and only when it is inside the summary's own
/// directory once links are resolved. "" when there is none; then `why_not` says why, when the
/// file exists but is elsewhere. A record that was not read from a file (a live run's) names its
/// own files: they are returned as they are.
std::string file_named_by(const RunRecord& record, const std::string& named, std::string* why_not);

/// The command line of this process, as remembered by main() (arguments with spaces or quotes
/// quoted for a POSIX shell).
void remember_command_line(int argc, char** argv);
const std::string& command_line();

/// The local time now, "2025-11-30 15:40:02 +0100".
std::string local_time_now();

}  // namespace minidl::cli
