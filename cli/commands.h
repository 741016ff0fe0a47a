// The subcommands of `minidl`. Each returns the process exit code; a UsageError (a bad flag value,
// caught before any work starts) exits 2, any other minidl::Error exits 1.
#pragma once

#include <string>
#include <vector>

#include <memory>

#include "cli/config.h"
#include "core/error.h"
#include "nn/module.h"
#include "optim/lr_scheduler.h"
#include "optim/optimizer.h"
#include "optim/registry.h"

namespace minidl::cli {

class UsageError : public Error {
 public:
  using Error::Error;
};

/// The flags of every command that reads data or runs ops, defined once (main.cpp's
/// add_runtime_flags): where the data is, how many CPU threads, which device.
struct RuntimeFlags {
  std::string data_dir;        // --data; empty: default_data_dir(dataset)
  int threads = 0;             // --threads; 0: as many as CPUs are free (apply_threads_flag)
  std::string device = "cpu";  // --device: cpu, cuda, cuda:N (a resumed run may change it)
};

struct TrainArgs : RuntimeFlags {
  TrainConfig config;
  std::string metrics;  // CSV path, empty: none
  int64_t log_every = 100;
  std::string summary;                       // JSON run summary path (timings, accuracy, memory), empty: none
  std::string telemetry;                     // JSONL of per-step optimizer statistics, empty: none
  std::string report;                        // a self-contained HTML report of the run (cli/report.h), empty: none
  bool quiet = false;                        // no per-epoch lines (compare prints its own)
  bool no_progress = false;                  // no live progress bar even on a terminal (--no-progress)
  std::string save;                          // checkpoint path after every epoch; "{epoch}" becomes the epoch number
  bool save_given = false;                   // --save was on the command line (an empty path is refused)
  std::string resume;                        // checkpoint to continue from
  std::vector<std::string> run_flags_given;  // flags that set the run's settings (refused with --resume)
  bool epochs_given = false;
  double bucket_mb = 0.25;  // under mpirun: gradient MiB per all-reduce (distributed::DataParallelOptions)
  bool no_overlap = false;  // under mpirun: all-reduce after backward() only (scripts/bench-dist)
};
int run_train(const TrainArgs& args);

struct EvalArgs : RuntimeFlags {
  std::string checkpoint;
  std::string dataset;  // empty: the checkpoint's
};
int run_eval(const EvalArgs& args);

struct CompareArgs : RuntimeFlags {
  std::vector<std::string> optimizers;  // e.g. sgd, momentum, nesterov
  std::vector<float> lrs;               // one for all, or one per optimizer; empty: each one's usual lr
  std::vector<uint64_t> seeds = {0};
  TrainConfig base;             // epochs, dataset, batch size, hidden, momentum, weight decay…
  std::string out = "compare";  // directory for the CSVs, summaries and plots
  int64_t log_every = 20;
  std::string telemetry;      // empty: none; else a JSONL file per run in `out`
  bool telemetry_on = false;  // the --telemetry flag
  double target = 0.97;       // the test accuracy "steps to reach" counts to
  std::string report;         // an HTML report of the comparison (cli/report.h), empty: none
};
int run_compare(const CompareArgs& args);

struct SweepArgs : RuntimeFlags {       // threads: per run; 0: the cores divided among the jobs
  std::vector<std::string> optimizers;  // each name[:key=value[:key=value…]]
  double lr_low = 0, lr_high = 0;       // the grid: `points` values log-spaced from lr_low to lr_high;
                                        // 0, 0: each optimizer's own lr ×/÷ 10^1.5 (its default, centred)
  int points = 7;
  std::vector<uint64_t> seeds;
  TrainConfig base;                  // every training setting but optimizer, lr and seed
  int jobs = 1;                      // runs at once, each a process of its own
  std::string out = "sweep";         // sweep.csv, sweep.md, sweep.png, sweep.json, runs/
  double target = 0.97;              // for the steps-to-reach column
  double basin = 0.5;                // accuracy points below the best that count as the basin
  std::string program;               // the minidl executable each run runs
  std::vector<std::string> plugins;  // --plugin libraries, loaded by every run too
  std::string report;                // an HTML report of the sweep (cli/report.h), empty: none
};
int run_sweep(const SweepArgs& args);

/// minidl report RUN…: a report from saved runs (cli/report_command.cpp says what a run is).
struct ReportArgs : RuntimeFlags {
  std::vector<std::string> inputs;  // summaries (.json), a checkpoint, or a compare/sweep directory
  std::string out = "report.html";
};
int run_report(const ReportArgs& args);

/// One entry of --optimizers: "nesterov:form=lookahead" → {label as given, name "nesterov",
/// options {{"form", "lookahead"}}}. The label, with ':' and '=' made '-', names the run's files.
struct OptimizerChoice {
  std::string label, name;
  optim::OptionValues options;
  std::string file_stem() const;
};
/// Parses and checks one choice against the registry and `base` (unknown names and options are
/// UsageErrors).
OptimizerChoice parse_optimizer_choice(const std::string& text, const TrainConfig& base);

/// Throws UsageError for a setting out of range (what train checks before any work).
void validate(const TrainConfig& config);

struct PredictArgs : RuntimeFlags {  // device only
  std::string checkpoint;
  std::vector<std::string> images;
  bool invert = false;      // for dark digits on a light background
  bool picture = true;      // draw the image the model saw beside the probabilities (--no-picture: don't)
  bool raw_resize = false;  // squeeze the whole image to 28×28 instead of fitting and centring the digit
};
int run_predict(const PredictArgs& args);

struct ExplainArgs : RuntimeFlags {  // data and threads (the step is explained on the CPU)
  std::string checkpoint;
  std::string param = "0.weight";
  std::string index = "0,0";  // comma-separated, one per dimension of the parameter
};
int run_explain_step(const ExplainArgs& args);

struct GraphArgs {
  TrainConfig config;                          // the model (--model, --hidden), --batch-size, --seed
  std::string out = "graph.dot";               // the DOT file; images go beside it
  std::vector<std::string> formats = {"svg"};  // rendered with Graphviz's dot when installed; empty: none
  std::string data;                            // --model gpt: "text:PATH" (default the fetched corpus, if present)
};
int run_graph(const GraphArgs& args);

/// The --device flag: "cpu", "cuda" or "cuda:N". A bad name, or a CUDA device this machine does
/// not have (with the reason: no GPU, no driver, a CPU-only build), is a UsageError.
Device parse_device(const std::string& text);

/// "256,128" → {256, 128}; anything else is a UsageError: "<flag>: '<text>' is not a comma-separated
/// list of <what>".
std::vector<int64_t> parse_int_list(const std::string& text, const char* flag, const char* what);

/// The lr schedule and the optimizer (with --no-decay-bias's second group) a run's settings ask for;
/// steps_per_epoch: the loader's batches (OneCycleLR counts steps).
std::unique_ptr<optim::LRSchedule> make_schedule(const TrainConfig& config, int64_t steps_per_epoch);
std::unique_ptr<optim::Optimizer> make_trainer_optimizer(const TrainConfig& config, const nn::Module& model);
/// The registry's view of a run's optimizer settings (lr, the shorthand flags, --opt).
optim::OptimizerConfig optimizer_config(const TrainConfig& config);

/// Throws, with the exact command that fetches it, when `dir` holds no copy of the dataset.
void check_data_present(const std::string& dir, const std::string& dataset);

/// Class names for a dataset's labels 0–9.
std::vector<std::string> class_names(const std::string& dataset);

}  // namespace minidl::cli
