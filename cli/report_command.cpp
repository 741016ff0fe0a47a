// minidl report RUN…: a report made afterwards from what runs left on disk. A RUN is one of
//   - a --summary JSON of `minidl train` (the run's record: settings, every step's loss and lr,
//     per-epoch results); the model's sections come from the checkpoint it names, if it is still
//     there, or from a checkpoint given beside it;
//   - a checkpoint alone (weights and settings, no history: no curves);
//   - the --summary of `minidl train --model gpt` (its losses, samples and attention maps: the page
//     its --report draws);
//   - a directory written by compare (its summaries) or sweep (its sweep.csv and runs/).
// Several summaries make a comparison, as compare's report. The pages are the library's
// (report/report.h); this file finds the runs and, for the model's sections, rebuilds the model
// from its checkpoint (cli/model.h) and evaluates it.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "cli/checkpoint.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/model.h"
#include "cli/report.h"
#include "core/backend.h"
#include "data/atomic_file.h"
#include "data/data_loader.h"
#include "nn/evaluate.h"

namespace minidl::cli {

namespace {

namespace fs = std::filesystem;

// The settings that make two records the same run, whatever --epochs a resume extended it to.
std::string run_identity(TrainConfig c) {
  c.epochs = 0;
  return to_json(c);
}

// The model's view: the checkpoint's model evaluated on the test set.
report::ModelView look_at_checkpoint(const Checkpoint& ck, const std::string& path, const ReportArgs& args) {
  const Device device = parse_device(args.device);
  Generator unused(0);
  const auto model = make_model(ck.config, unused, &unused);
  model->to(device);
  load_parameters(*model, ck.parameters, path);
  const std::string dir = args.data_dir.empty() ? default_data_dir(ck.config.dataset) : args.data_dir;
  check_data_present(dir, ck.config.dataset);
  const data::ImageDataset test = data::load_mnist_format(dir, data::Split::test, dataset_info(ck.config.dataset));
  const Shape example = model_input_shape(ck.config);
  data::DataLoader loader(test, {.batch_size = evaluation_batch(ck.config), .device = device});
  report::ModelViewCollector collector;
  const nn::Evaluation e = nn::evaluate(*model, loader, example, collector.observer());
  return collector.finish(e, *model, test, class_names(ck.config.dataset));
}

// Where a summary's checkpoint is now: as recorded, or beside the summary.
std::string find_checkpoint(const report::RunSummary& r) {
  std::string why_not;
  const std::string path = report::file_named_by(r, r.checkpoint, &why_not);
  if (!why_not.empty() && path.empty()) std::fprintf(stderr, "minidl report: warning: %s\n", why_not.c_str());
  return path;
}

std::vector<report::RunSummary> summaries_in(const std::string& dir) {
  std::vector<std::string> paths;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".json") paths.push_back(entry.path().string());
  std::sort(paths.begin(), paths.end());
  std::vector<report::RunSummary> runs;
  for (const std::string& p : paths) runs.push_back(read_run_summary(p));
  check(!runs.empty(), "report: ", dir, " holds no run summaries (*.json) and no sweep.csv");
  return runs;
}

// The inputs sorted by kind, refused before any work when they do not exist or are the output.
struct Inputs {
  std::vector<std::string> summaries, checkpoints, dirs;
};

Inputs sort_inputs(const ReportArgs& args) {
  Inputs in;
  for (const std::string& input : args.inputs) {
    if (!fs::exists(input)) throw UsageError("'" + input + "' does not exist");
    (fs::is_directory(input)                  ? in.dirs
     : fs::path(input).extension() == ".json" ? in.summaries
                                              : in.checkpoints)
        .push_back(input);
  }
  std::vector<data::NamedFile> inputs;
  for (const std::string& input : args.inputs) inputs.push_back({"the input", input});
  data::check_distinct_outputs({{"--out", args.out}}, inputs);
  return in;
}

// A compare or sweep directory, or several summaries: a comparison page.
report::Written write_several(const ReportArgs& args, const Inputs& in) {
  if (!in.dirs.empty()) {
    if (args.inputs.size() > 1) throw UsageError("a directory (of compare or sweep) comes alone");
    return fs::exists(in.dirs[0] + "/sweep.csv")
               ? report::write_sweep(in.dirs[0], args.out, classifier_describer())
               : report::write_comparison(summaries_in(in.dirs[0]), args.out, "minidl compare", classifier_describer());
  }
  if (!in.checkpoints.empty())
    throw UsageError("several summaries make a comparison, which draws no model: leave out the checkpoints");
  std::vector<report::RunSummary> runs;
  for (const std::string& s : in.summaries) {
    runs.push_back(read_run_summary(s));
    if (is_gpt_summary(runs.back()))
      throw UsageError(s + " is a GPT run's summary: report draws one GPT run at a time (no comparison yet)");
  }
  return report::write_comparison(runs, args.out, "minidl report", classifier_describer());
}

// A checkpoint given alone: a run with its settings and no history.
report::RunSummary summary_of_checkpoint(const Checkpoint& ck, const std::string& checkpoint) {
  RunRecord run;
  run.config = ck.config;
  run.checkpoint = checkpoint;
  run.description = str_cat(ck.config.dataset, ", model ", model_name(ck.config), ", ", ck.config.optimizer, " lr ",
                            ck.config.lr, ", batch ", ck.config.batch_size, ": the checkpoint after epoch ",
                            ck.state.epoch, " of ", ck.config.epochs);
  return to_summary(run);
}

// The model's view from `checkpoint`, when it holds the run's settings; a checkpoint the summary
// only implied (named, not given) is left out with a warning instead of failing the report.
std::optional<report::ModelView> view_of(const Checkpoint& ck, const std::string& checkpoint,
                                         const report::RunSummary& run, bool implied, const ReportArgs& args) {
  if (run_identity(ck.config) != run_identity(config_of(run))) {
    if (!implied) throw UsageError(checkpoint + " is not the run of " + run.source + " (their settings differ)");
    std::fprintf(stderr, "minidl report: warning: %s does not hold this run's settings; leaving the model out\n",
                 checkpoint.c_str());
    return std::nullopt;
  }
  try {
    return look_at_checkpoint(ck, checkpoint, args);
  } catch (const Error& e) {
    if (!implied) throw;
    std::fprintf(stderr, "minidl report: warning: leaving the model out: %s\n", e.what());
    return std::nullopt;
  }
}

// A GPT run's summary: its page is drawn from the summary alone (losses, samples, attention maps),
// the same page as its train --report.
report::Written write_gpt_summary(const report::RunSummary& run, const ReportArgs& args, const Inputs& in) {
  if (!in.checkpoints.empty())
    throw UsageError(run.source +
                     " is a GPT run's summary: its report is drawn from the summary alone, give it "
                     "without a checkpoint");
  return report::write(run, args.out, {.describer = gpt_describer()});
}

// One run: a summary, a checkpoint, or both.
report::Written write_one(const ReportArgs& args, const Inputs& in) {
  const auto start = std::chrono::steady_clock::now();
  if (in.checkpoints.size() > 1) throw UsageError("give one checkpoint (or several summaries to compare)");
  std::string checkpoint = in.checkpoints.empty() ? "" : in.checkpoints[0];
  const bool implied = checkpoint.empty() && !in.summaries.empty();
  report::RunSummary run;
  if (!in.summaries.empty()) {
    run = read_run_summary(in.summaries[0]);
    if (is_gpt_summary(run)) return write_gpt_summary(run, args, in);
    if (checkpoint.empty()) checkpoint = find_checkpoint(run);
    data::check_distinct_outputs({{"--out", args.out}},
                                 {{"the summary's checkpoint", checkpoint}, {"the summary's telemetry", run.telemetry}});
  }
  std::optional<report::ModelView> view;
  if (!checkpoint.empty()) {
    const Checkpoint ck = load_checkpoint(checkpoint);
    if (in.summaries.empty()) run = summary_of_checkpoint(ck, checkpoint);
    view = view_of(ck, checkpoint, run, implied, args);
    if (view && in.summaries.empty())
      run.final_accuracy = static_cast<double>(view->correct) / static_cast<double>(view->total);
  }
  const double before = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report::write(run, args.out,
                       {.model = view ? &*view : nullptr, .describer = classifier_describer(), .seconds_before = before});
}

}  // namespace

int run_report(const ReportArgs& args) {
  if (args.inputs.empty())
    throw UsageError("give a run: its --summary JSON, its checkpoint, or a compare or sweep directory");
  check_report_path(args.out, "--out");
  apply_threads_flag(args.threads);
  parse_device(args.device);
  const Inputs in = sort_inputs(args);
  print_written(!in.dirs.empty() || in.summaries.size() >= 2 ? write_several(args, in) : write_one(args, in));
  return 0;
}


Command add_report(CLI::App& app) {
  auto r = std::make_shared<ReportArgs>();
  CLI::App* report = app.add_subcommand(
      "report",
      "a self-contained HTML report from saved runs: a --summary JSON (with its checkpoint), a checkpoint, "
      "several summaries to compare, or a compare or sweep directory");
  report->add_option("--out", r->out, "the HTML file to write")->capture_default_str();
  add_runtime_flags(report, *r, kData | kThreads | kDevice);
  report->add_option("runs", r->inputs, "RUN.json, CHECKPOINT.safetensors, several RUN.json, or a directory")
      ->required();
  return {report, [r] { return run_report(*r); }};
}

}  // namespace minidl::cli
