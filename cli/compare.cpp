// minidl compare: the same run with several optimizers, from identical initial weights and batch
// order (one seed gives both), over several seeds; then a table, plots through
// scripts/plot_metrics.py and, with --report, an HTML report. Each run is an ordinary `train` whose
// metrics CSV and summary JSON land in --out, so every number in the table can be traced to a file.
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "data/atomic_file.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/report.h"
#include "nn/linear.h"
#include "optim/registry.h"

namespace minidl::cli {

namespace {

struct RunResult {
  std::vector<double> test_accuracy, train_loss;  // per epoch
  std::vector<int64_t> steps;                     // optimizer steps at each epoch's end
  double seconds = 0;                             // training time, all epochs
};

RunResult read_summary(const std::string& path) {
  std::ifstream in(path);
  const auto j = nlohmann::json::parse(in);
  RunResult r;
  for (const auto& e : j.at("epochs")) {
    r.test_accuracy.push_back(e.at("test_accuracy").get<double>());
    r.train_loss.push_back(e.at("train_loss").get<double>());
    r.steps.push_back(e.at("steps").get<int64_t>());
    r.seconds += e.at("train_seconds").get<double>();
  }
  return r;
}

struct Stats {
  double mean = 0, std = 0;
};
Stats stats(const std::vector<double>& v) {
  Stats s;
  if (v.empty()) return s;
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  for (double x : v) s.std += (x - s.mean) * (x - s.mean);
  s.std = v.size() > 1 ? std::sqrt(s.std / static_cast<double>(v.size() - 1)) : 0;  // sample std
  return s;
}

// ▁▂▃▄▅▆▇█ for values scaled between lo and hi.
std::string sparkline(const std::vector<double>& v, double lo, double hi) {
  static const char* bars[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  std::string out;
  for (double x : v) {
    const double t = hi > lo ? (x - lo) / (hi - lo) : 1.0;
    out += bars[std::clamp(static_cast<int>(std::lround(t * 7)), 0, 7)];
  }
  return out;
}

// The lr of run k: --lr's one value, its k-th, or the one the optimizer declares in its Options
// (optim::default_lr: SGD's 0.1, the momentum methods' 0.01, Adam's 1e-3, a plugin's own), so that
// without --lr each optimizer runs at its own default and none at a value chosen for another.
float run_lr(const CompareArgs& args, const std::string& name, size_t k) {
  if (!args.lrs.empty()) return args.lrs[args.lrs.size() == 1 ? 0 : k];
  try {
    return optim::default_lr(name);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
}

// Every run's optimizer, made before the first run trains (on a 1×1 Linear, with the bias group of
// --no-decay-bias): an unknown name or an option it refuses third in the list must not cost the two
// runs before it.
void check_runs(const CompareArgs& args, const std::vector<OptimizerChoice>& choices) {
  Generator unused(0);
  const nn::Linear tiny(1, 1, true, unused);
  for (size_t k = 0; k < choices.size(); ++k) {
    TrainConfig config = args.base;
    config.optimizer = choices[k].name;
    config.optimizer_options = choices[k].options;
    config.lr = run_lr(args, choices[k].name, k);
    if (!(std::isfinite(config.lr) && config.lr > 0))
      throw UsageError(str_cat("--lr must be > 0, got ", config.lr, " (for ", config.optimizer, ")"));
    make_trainer_optimizer(config, tiny);
  }
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

int run_compare(const CompareArgs& args) {
  if (args.optimizers.empty()) throw UsageError("--optimizers needs at least one name, e.g. sgd,momentum,nesterov");
  if (args.seeds.empty()) throw UsageError("--seeds needs at least one seed");
  if (!(args.target > 0 && args.target <= 1))
    throw UsageError(str_cat("--target must be in (0, 1], got ", args.target));
  if (!args.lrs.empty() && args.lrs.size() != 1 && args.lrs.size() != args.optimizers.size())
    throw UsageError(
        str_cat("--lr takes one value or one per optimizer (", args.optimizers.size(), "), got ", args.lrs.size()));
  std::vector<OptimizerChoice> choices;  // all checked before anything is written or run
  for (const std::string& text : args.optimizers) choices.push_back(parse_optimizer_choice(text, args.base));
  check_runs(args, choices);
  for (size_t i = 0; i < choices.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (choices[i].file_stem() == choices[j].file_stem())
        throw UsageError("--optimizers names " + choices[i].label + " twice: both runs would write the same files");
  for (size_t i = 0; i < args.seeds.size(); ++i)
    if (std::find(args.seeds.begin(), args.seeds.begin() + static_cast<std::ptrdiff_t>(i), args.seeds[i]) !=
        args.seeds.begin() + static_cast<std::ptrdiff_t>(i))
      throw UsageError(str_cat("--seeds names ", args.seeds[i], " twice: both runs would write the same files"));
  if (!args.report.empty()) check_report_path(args.report);
  std::error_code ec;
  std::filesystem::create_directories(args.out, ec);
  if (ec) throw UsageError("--out: cannot create '" + args.out + "' (" + ec.message() + ")");

  struct Row {
    std::string optimizer;
    float lr;
    std::vector<RunResult> runs;
  };
  std::vector<Row> rows;
  std::vector<std::string> summaries;  // every run's, for the report
  for (size_t k = 0; k < choices.size(); ++k) {
    const OptimizerChoice& choice = choices[k];
    const std::string& name = choice.name;
    const float lr = run_lr(args, name, k);
    Row row{choice.label, lr, {}};
    for (const uint64_t seed : args.seeds) {
      TrainArgs t;
      t.config = args.base;
      t.config.optimizer = name;
      t.config.optimizer_options = choice.options;
      t.config.lr = lr;
      t.config.seed = seed;
      static_cast<RuntimeFlags&>(t) = args;  // --data, --threads, --device
      t.log_every = args.log_every;
      const std::string stem = args.out + "/" + choice.file_stem() + "-seed" + std::to_string(seed);
      t.metrics = stem + ".csv";
      t.summary = stem + ".json";
      if (!args.telemetry.empty()) t.telemetry = stem + ".telemetry.jsonl";
      t.quiet = true;
      std::printf("compare: %s lr %s, seed %llu …\n", choice.label.c_str(), optim::format_option(lr).c_str(),
                  static_cast<unsigned long long>(seed));
      std::fflush(stdout);
      if (const int code = run_train(t); code != 0) return code;
      row.runs.push_back(read_summary(t.summary));
      summaries.push_back(t.summary);
    }
    rows.push_back(std::move(row));
  }

  // ---- the table: markdown, so that it pastes into docs as it is
  std::ostringstream table;
  const bool one_seed = args.seeds.size() == 1;  // then no spread to show: "± 0.00" would claim one
  table << "| optimizer | lr | final test accuracy ("
        << (one_seed ? std::string("1 seed") : str_cat("mean ± std, ", args.seeds.size(), " seeds"))
        << ") | train loss after epoch 1 | steps to " << fixed(100 * args.target, 0)
        << "% test accuracy (checked each epoch) | training time |\n"
        << "|---|---|---|---|---|---|\n";
  double lo = 1, hi = 0;
  for (const Row& r : rows)
    for (const RunResult& run : r.runs)
      for (double a : run.test_accuracy) lo = std::min(lo, a), hi = std::max(hi, a);
  std::ostringstream sparks;
  for (const Row& r : rows) {
    std::vector<double> final_acc, first_loss, seconds, steps_to_97;
    int reached = 0;
    std::vector<double> mean_curve(r.runs.front().test_accuracy.size(), 0.0);
    for (const RunResult& run : r.runs) {
      final_acc.push_back(100 * run.test_accuracy.back());
      first_loss.push_back(run.train_loss.front());
      seconds.push_back(run.seconds);
      for (size_t e = 0; e < run.test_accuracy.size(); ++e)
        mean_curve[e] += run.test_accuracy[e] / static_cast<double>(r.runs.size());
      for (size_t e = 0; e < run.test_accuracy.size(); ++e) {
        if (run.test_accuracy[e] >= args.target) {
          steps_to_97.push_back(static_cast<double>(run.steps[e]));
          ++reached;
          break;
        }
      }
    }
    const Stats acc = stats(final_acc), loss = stats(first_loss), time = stats(seconds), steps = stats(steps_to_97);
    table << "| " << r.optimizer << " | " << optim::format_option(r.lr) << " | " << fixed(acc.mean, 2)
          << (one_seed ? "" : " ± " + fixed(acc.std, 2)) << "% | " << fixed(loss.mean, 4) << " | "
          << (reached ? fixed(steps.mean, 0) + (reached < static_cast<int>(r.runs.size())
                                                    ? str_cat(" (", reached, " of ", r.runs.size(), " runs)")
                                                    : std::string())
                      : std::string("not reached"))
          << " | " << fixed(time.mean, 1) << " s |\n";
    char label[32];
    std::snprintf(label, sizeof label, "%-10s", r.optimizer.c_str());
    if (mean_curve.size() > 1)
      sparks << "  " << label << " " << sparkline(mean_curve, lo, hi) << "  " << fixed(100 * mean_curve.front(), 2)
             << "% → " << fixed(100 * mean_curve.back(), 2) << "%\n";
    else  // one epoch, one evaluation: a one-bar sparkline would say nothing
      sparks << "  " << label << " " << fixed(100 * mean_curve.front(), 2) << "%\n";
  }
  if (rows.front().runs.front().test_accuracy.size() > 1)
    std::printf("\n%s\ntest accuracy per epoch (mean over seeds; one scale for all, %.2f%%–%.2f%%):\n%s",
                table.str().c_str(), 100 * lo, 100 * hi, sparks.str().c_str());
  else
    std::printf("\n%s\ntest accuracy after the one epoch (mean over seeds):\n%s", table.str().c_str(),
                sparks.str().c_str());
  data::write_text_atomically(args.out + "/summary.md", table.str(), "compare --out");

  // ---- plots: Python draws them from the CSVs, when it is there; the comparison never needs it
  const std::string script = std::string(MINIDL_SOURCE_DIR) + "/scripts/plot_metrics.py";
  const std::string python = std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  const std::string command = python + " " + script + " " + args.out;
  // The plots are drawn in a private directory, then published under the output policy.
  const data::PrivateDirectory drawing("compare --out");
  if (std::filesystem::exists(script) &&
      std::system((command + " --to " + drawing / "" + " > /dev/null 2>&1").c_str()) == 0) {
    for (const char* png : {"loss.png", "accuracy.png", "telemetry.png"})
      if (std::filesystem::exists(drawing / png)) data::publish_copy(drawing / png, args.out + "/" + png, "compare --out");
    std::printf("\nwrote %s/*.csv, summary.md, loss.png, accuracy.png%s\n", args.out.c_str(),
                args.telemetry.empty() ? "" : ", telemetry.png");
  } else
    std::printf("\nwrote %s/*.csv and summary.md; for plots (python3-matplotlib): %s\n", args.out.c_str(),
                command.c_str());
  if (!args.report.empty()) {
    std::vector<RunRecord> runs;
    for (const std::string& summary : summaries) runs.push_back(read_run_record(summary));
    print_written(write_comparison_report(args.report, runs, "minidl compare"));
  }
  return 0;
}


Command add_compare(CLI::App& app) {
  struct Flags {
    CompareArgs args;
    RunFlags run;
    std::string optimizers = "sgd,momentum,nesterov", lrs, seeds = "0";
    CLI::Option* epochs = nullptr;
  };
  auto f = std::make_shared<Flags>();
  CompareArgs& c = f->args;
  CLI::App* compare = app.add_subcommand(
      "compare", "train several optimizers from identical weights and batch order, over seeds; table and plots");
  compare
      ->add_option("--optimizers", f->optimizers,
                   "comma-separated optimizers, each name[:key=value[:key=value…]], e.g. adam,nesterov:form=lookahead")
      ->capture_default_str();
  compare->add_option("--lr", f->lrs,
                      "one lr for all, or one per optimizer (default: each optimizer's own, its lr= below)");
  compare->add_option("--seeds", f->seeds, "comma-separated seeds (initial weights and batch order)")
      ->capture_default_str();
  f->epochs = compare->add_option("--epochs", f->run.config.epochs, "epochs per run")->capture_default_str();
  f->run.add_to(compare, /*with_optimizer_and_lr=*/false);
  add_runtime_flags(compare, c, kData | kThreads | kDevice);
  compare->add_option("--out", c.out, "directory for the CSVs, summaries and plots")->capture_default_str();
  compare->add_option("--log-every", c.log_every, "steps between CSV rows of the training loss")->capture_default_str();
  compare->add_option("--target", c.target, "test accuracy for the steps-to-reach column (0.97: 97%)")
      ->capture_default_str();
  compare->add_flag("--telemetry", c.telemetry_on, "also write each run's optimizer telemetry (JSONL)");
  compare->add_option("--report", c.report,
                      "write a self-contained HTML report: one curve per optimizer, seeds shaded");
  compare->footer(optimizers_footer());
  return {compare, [f] {
            CompareArgs& c = f->args;
            std::vector<std::string> set = {"optimizer", "lr"};  // compare sets both per run
            if (f->epochs->count()) set.push_back("epochs");
            c.base = f->run.finish(nullptr, set);
            c.optimizers = split_list(f->optimizers);
            for (const std::string& lr : split_list(f->lrs)) c.lrs.push_back(parse_number<float>(lr, "--lr"));
            c.seeds.clear();
            for (const std::string& seed : split_list(f->seeds))
              c.seeds.push_back(parse_number<uint64_t>(seed, "--seeds"));
            if (c.telemetry_on) c.telemetry = "on";
            return run_compare(c);
          }};
}

}  // namespace minidl::cli
