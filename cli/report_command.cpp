// minidl report RUN…: a report made afterwards from what runs left on disk. A RUN is one of
//   - a --summary JSON of `minidl train` (the run's record: settings, every step's loss and lr,
//     per-epoch results); the model's sections come from the checkpoint it names, if it is still
//     there, or from a checkpoint given beside it;
//   - a checkpoint alone (weights and settings, no history: no curves);
//   - a directory written by compare (its summaries) or sweep (its sweep.csv and runs/).
// Several summaries make a comparison, as compare's report.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "cli/checkpoint.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/model.h"
#include "cli/report.h"
#include "data/atomic_file.h"
#include "core/backend.h"
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
ModelView look_at_checkpoint(const Checkpoint& ck, const std::string& path, const ReportArgs& args) {
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
  ModelViewCollector collector;
  const nn::Evaluation e = nn::evaluate(*model, loader, example, collector.observer());
  return collector.finish(e, *model, test, class_names(ck.config.dataset));
}

// Where a summary's checkpoint is now: as recorded, or beside the summary.
std::string find_checkpoint(const RunRecord& r) {
  std::string why_not;
  const std::string path = file_named_by(r, r.checkpoint, &why_not);
  if (!why_not.empty() && path.empty()) std::fprintf(stderr, "minidl report: warning: %s\n", why_not.c_str());
  return path;
}

std::vector<RunRecord> summaries_in(const std::string& dir) {
  std::vector<std::string> paths;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".json") paths.push_back(entry.path().string());
  std::sort(paths.begin(), paths.end());
  std::vector<RunRecord> runs;
  for (const std::string& p : paths) runs.push_back(read_run_record(p));
  check(!runs.empty(), "report: ", dir, " holds no run summaries (*.json) and no sweep.csv");
  return runs;
}

}  // namespace

void check_report_path(const std::string& path, const char* flag) { data::check_output_target(path, flag); }

int run_report(const ReportArgs& args) {
  if (args.inputs.empty())
    throw UsageError("give a run: its --summary JSON, its checkpoint, or a compare or sweep directory");
  check_report_path(args.out, "--out");
  apply_threads_flag(args.threads);
  parse_device(args.device);
  std::vector<std::string> summaries, checkpoints, dirs;
  for (const std::string& input : args.inputs) {
    if (!fs::exists(input)) throw UsageError("'" + input + "' does not exist");
    (fs::is_directory(input)                  ? dirs
     : fs::path(input).extension() == ".json" ? summaries
                                              : checkpoints)
        .push_back(input);
  }
  std::vector<data::NamedFile> inputs;
  for (const std::string& input : args.inputs) inputs.push_back({"the input", input});
  data::check_distinct_outputs({{"--out", args.out}}, inputs);
  if (!dirs.empty()) {
    if (args.inputs.size() > 1) throw UsageError("a directory (of compare or sweep) comes alone");
    const ReportWritten w = fs::exists(dirs[0] + "/sweep.csv")
                                ? write_sweep_report(args.out, dirs[0])
                                : write_comparison_report(args.out, summaries_in(dirs[0]), "minidl compare");
    print_written(w);
    return 0;
  }
  if (summaries.size() >= 2) {
    if (!checkpoints.empty())
      throw UsageError("several summaries make a comparison, which draws no model: leave out the checkpoints");
    std::vector<RunRecord> runs;
    for (const std::string& s : summaries) runs.push_back(read_run_record(s));
    print_written(write_comparison_report(args.out, runs, "minidl report"));
    return 0;
  }
  if (checkpoints.size() > 1) throw UsageError("give one checkpoint (or several summaries to compare)");

  const auto start = std::chrono::steady_clock::now();
  RunRecord run;
  std::string checkpoint = checkpoints.empty() ? "" : checkpoints[0];
  bool implied = false;
  if (!summaries.empty()) {
    run = read_run_record(summaries[0]);
    if (checkpoint.empty()) checkpoint = find_checkpoint(run), implied = !checkpoint.empty();
    data::check_distinct_outputs({{"--out", args.out}},
                                 {{"the summary's checkpoint", checkpoint}, {"the summary's telemetry", run.telemetry}});
  }
  ModelView view;
  bool have_view = false;
  if (!checkpoint.empty()) {
    const Checkpoint ck = load_checkpoint(checkpoint);
    if (summaries.empty()) {
      run.config = ck.config;
      run.checkpoint = checkpoint;
      run.description = str_cat(ck.config.dataset, ", model ", model_name(ck.config), ", ", ck.config.optimizer, " lr ",
                                ck.config.lr, ", batch ", ck.config.batch_size, ": the checkpoint after epoch ",
                                ck.state.epoch, " of ", ck.config.epochs);
    } else if (run_identity(ck.config) != run_identity(run.config)) {
      if (!implied) throw UsageError(checkpoint + " is not the run of " + summaries[0] + " (their settings differ)");
      std::fprintf(stderr, "minidl report: warning: %s does not hold this run's settings; leaving the model out\n",
                   checkpoint.c_str());
      checkpoint.clear();
    }
    if (!checkpoint.empty()) {
      try {
        view = look_at_checkpoint(ck, checkpoint, args);
      } catch (const Error& e) {
        if (!implied) throw;
        std::fprintf(stderr, "minidl report: warning: leaving the model out: %s\n", e.what());
        checkpoint.clear();
      }
    }
    if (!checkpoint.empty()) {
      have_view = true;
      if (summaries.empty()) run.final_accuracy = static_cast<double>(view.correct) / static_cast<double>(view.total);
    }
  }
  const double before = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  print_written(write_run_report(args.out, run, have_view ? &view : nullptr, before));
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
