// minidl sweep: each optimizer at each lr of a log grid, over seeds, every run from the same initial
// weights and batch order for a given seed. The width of the lr range whose accuracy stays within
// --basin points of an optimizer's best is the honest measure of "more stable". Each run is a
// `minidl train` process of its own (up to --jobs at once); a finished run is one line of
// sweep.csv, appended as it ends, so a sweep stopped by SIGINT (or anything) continues where it
// was when started again with the same command: finished runs are not redone.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "data/atomic_file.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/report.h"
#include "core/backend.h"
#include "optim/registry.h"

namespace minidl::cli {

namespace {

constexpr const char* kHeader =
    "optimizer,lr,seed,status,final_test_accuracy,final_test_loss,final_train_loss,steps_to_target,train_seconds";

struct Run {
  OptimizerChoice optimizer;
  std::string lr;  // as written in the CSV: the key a resumed sweep matches on
  uint64_t seed;
  std::string stem() const { return optimizer.file_stem() + "-lr" + lr + "-seed" + std::to_string(seed); }
};

struct Result {
  std::string optimizer, lr, status;
  uint64_t seed = 0;
  double accuracy = NAN, test_loss = NAN, train_loss = NAN, steps_to_target = NAN, seconds = NAN;
};

std::string format_lr(double lr) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", lr);
  return buf;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, sep)) out.push_back(item);
  return out;
}

std::vector<Result> read_csv(const std::string& path) {
  std::vector<Result> results;
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return results;
  check(line == kHeader, path, ": not a sweep's CSV (its header is '", line, "')");
  while (std::getline(in, line)) {
    const auto f = split(line, ',');
    if (f.size() != 9) continue;  // a line cut short when a sweep was killed: that run is redone
    Result r{f[0], f[1], f[3]};
    r.seed = std::stoull(f[2]);
    const auto num = [](const std::string& s) { return s.empty() ? NAN : std::stod(s); };
    r.accuracy = num(f[4]), r.test_loss = num(f[5]), r.train_loss = num(f[6]), r.steps_to_target = num(f[7]);
    r.seconds = num(f[8]);
    results.push_back(r);
  }
  return results;
}

std::string csv_line(const Result& r) {
  const auto num = [](double v) {
    if (!std::isfinite(v)) return std::string();
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return std::string(buf);
  };
  return r.optimizer + "," + r.lr + "," + std::to_string(r.seed) + "," + r.status + "," + num(r.accuracy) + "," +
         num(r.test_loss) + "," + num(r.train_loss) + "," + num(r.steps_to_target) + "," + num(r.seconds);
}

// A finished run's result, from its summary (or, for a run that diverged, its log).
Result read_run(const Run& run, const std::string& dir, int code, double target) {
  Result r{run.optimizer.label, run.lr, "ok", run.seed};
  if (code != 0) {
    r.status = "diverged";
    return r;
  }
  std::ifstream in(dir + "/" + run.stem() + ".json");
  const auto j = nlohmann::json::parse(in);
  const auto& epochs = j.at("epochs");
  r.accuracy = epochs.back().at("test_accuracy").get<double>();
  r.test_loss = epochs.back().at("test_loss").get<double>();
  r.train_loss = epochs.back().at("train_loss").get<double>();
  r.seconds = 0;
  for (const auto& e : epochs) {
    r.seconds += e.at("train_seconds").get<double>();
    if (std::isnan(r.steps_to_target) && e.at("test_accuracy").get<double>() >= target)
      r.steps_to_target = static_cast<double>(e.at("steps").get<int64_t>());
  }
  return r;
}

volatile std::sig_atomic_t stop_requested = 0;
extern "C" void request_sweep_stop(int) { stop_requested = 1; }

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// The table (accuracy at each lr, per optimizer) and each optimizer's basin, as markdown.
// The grid's lrs of each optimizer (by label): one shared grid with --lr, else each its own.
using LrGrids = std::map<std::string, std::vector<std::string>>;

// `points` lrs log-spaced from lo to hi, as the CSV writes them (duplicates after rounding dropped).
std::vector<std::string> log_grid(double lo, double hi, int points) {
  std::vector<std::string> lrs;
  for (int i = 0; i < points; ++i) {
    const double t = points == 1 ? 0.0 : static_cast<double>(i) / (points - 1);
    const std::string lr = format_lr(std::exp(std::log(lo) + t * (std::log(hi) - std::log(lo))));
    if (lrs.empty() || lrs.back() != lr) lrs.push_back(lr);
  }
  return lrs;
}

// Every lr of any optimizer's grid, ascending: the table's rows.
std::vector<std::string> all_lrs(const LrGrids& grids) {
  std::vector<std::string> lrs;
  for (const auto& [label, own] : grids)
    for (const std::string& lr : own)
      if (std::find(lrs.begin(), lrs.end(), lr) == lrs.end()) lrs.push_back(lr);
  std::sort(lrs.begin(), lrs.end(),
            [](const std::string& a, const std::string& b) { return std::stod(a) < std::stod(b); });
  return lrs;
}

std::string report(const std::vector<OptimizerChoice>& optimizers, const LrGrids& grids,
                   const std::vector<Result>& results, double basin, double target) {
  const std::vector<std::string> rows = all_lrs(grids);
  struct Point {
    std::vector<double> accuracy, train_loss, steps;
    int diverged = 0;
  };
  std::map<std::pair<std::string, std::string>, Point> points;
  for (const Result& r : results) {
    Point& p = points[{r.optimizer, r.lr}];
    if (r.status != "ok") {
      ++p.diverged;
      continue;
    }
    p.accuracy.push_back(100 * r.accuracy);
    p.train_loss.push_back(r.train_loss);
    if (std::isfinite(r.steps_to_target)) p.steps.push_back(r.steps_to_target);
  }
  const auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? NAN : s / static_cast<double>(v.size());
  };
  const auto stddev = [&](const std::vector<double>& v) {
    if (v.size() < 2) return 0.0;
    const double m = mean(v);
    double s = 0;
    for (double x : v) s += (x - m) * (x - m);
    return std::sqrt(s / static_cast<double>(v.size() - 1));
  };
  std::ostringstream md;
  md << "Final test accuracy (%, mean ± std over seeds; no ± with one seed) at each lr:\n\n| lr |";
  for (const auto& o : optimizers) md << ' ' << o.label << " |";
  md << "\n|---|";
  for (size_t k = 0; k < optimizers.size(); ++k) md << "---|";
  md << '\n';
  for (const std::string& lr : rows) {
    md << "| " << lr << " |";
    for (const auto& o : optimizers) {
      const std::vector<std::string>& own = grids.at(o.label);
      if (std::find(own.begin(), own.end(), lr) == own.end()) {  // outside this optimizer's range
        md << " – |";
        continue;
      }
      const auto it = points.find({o.label, lr});
      if (it == points.end()) {
        md << " (not run) |";
        continue;
      }
      const Point& p = it->second;
      if (p.diverged)
        md << " diverged (" << p.diverged << " of " << p.diverged + p.accuracy.size() << ")";
      else
        md << ' ' << fixed(mean(p.accuracy), 2) << (p.accuracy.size() > 1 ? " ± " + fixed(stddev(p.accuracy), 2) : "");
      md << " |";
    }
    md << '\n';
  }
  md << "\nBasin: the grid points around each optimizer's best whose mean accuracy is within " << basin
     << " points of that best (no seed diverging); its width in decades of lr is log10(high / low):\n\n"
     << "| optimizer | best lr | best accuracy | basin | width (decades) | final train loss at best lr | steps to "
     << fixed(100 * target, 0) << "% at best lr |\n|---|---|---|---|---|---|---|\n";
  for (const auto& o : optimizers) {
    const std::vector<std::string>& lrs = grids.at(o.label);
    std::vector<double> acc(lrs.size(), NAN);
    for (size_t i = 0; i < lrs.size(); ++i) {
      const auto it = points.find({o.label, lrs[i]});
      if (it != points.end() && !it->second.diverged) acc[i] = mean(it->second.accuracy);
    }
    size_t best = lrs.size();
    for (size_t i = 0; i < lrs.size(); ++i)
      if (std::isfinite(acc[i]) && (best == lrs.size() || acc[i] > acc[best])) best = i;
    if (best == lrs.size()) {
      md << "| " << o.label << " | – | – | – | – | – | – |\n";
      continue;
    }
    size_t lo = best, hi = best;
    while (lo > 0 && std::isfinite(acc[lo - 1]) && acc[lo - 1] >= acc[best] - basin) --lo;
    while (hi + 1 < lrs.size() && std::isfinite(acc[hi + 1]) && acc[hi + 1] >= acc[best] - basin) ++hi;
    const Point& p = points.at({o.label, lrs[best]});
    const double width = std::log10(std::stod(lrs[hi]) / std::stod(lrs[lo]));
    md << "| " << o.label << " | " << lrs[best] << " | " << fixed(acc[best], 2)
       << (p.accuracy.size() > 1 ? " ± " + fixed(stddev(p.accuracy), 2) : "") << "% | " << lrs[lo] << "–" << lrs[hi]
       << " (" << hi - lo + 1 << " of " << lrs.size() << " points) | " << fixed(width, 2) << " | "
       << fixed(mean(p.train_loss), 4) << " | "
       << (p.steps.empty()
               ? std::string("not reached")
               : fixed(mean(p.steps), 0) + (p.steps.size() < p.accuracy.size()
                                                ? str_cat(" (", p.steps.size(), " of ", p.accuracy.size(), " seeds)")
                                                : std::string()))
       << " |\n";
  }
  return md.str();
}

}  // namespace

std::string OptimizerChoice::file_stem() const {
  std::string s = label;
  for (char& c : s)
    if (c == ':' || c == '=' || c == ',' || c == '/') c = '-';
  return s;
}

OptimizerChoice parse_optimizer_choice(const std::string& text, const TrainConfig& base) {
  const auto parts = split(text, ':');
  if (parts.empty() || parts[0].empty()) throw UsageError("--optimizers: empty optimizer name in '" + text + "'");
  OptimizerChoice c{text, parts[0], {}};
  try {
    for (size_t i = 1; i < parts.size(); ++i) c.options.push_back(optim::split_option(parts[i]));
    TrainConfig config = base;
    config.optimizer = c.name;
    config.optimizer_options.insert(config.optimizer_options.end(), c.options.begin(), c.options.end());
    optim::optimizer_options_in_use(c.name, optimizer_config(config));  // unknown names and options throw
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  return c;
}

int run_sweep(const SweepArgs& args) {
  // ---- check everything before the first run
  if (args.optimizers.empty()) throw UsageError("--optimizers needs at least one name, e.g. sgd,nesterov,adam");
  if (args.seeds.empty()) throw UsageError("--seeds needs at least one seed");
  const bool own_ranges = args.lr_low == 0 && args.lr_high == 0;  // no --lr: each optimizer's, centred on its lr
  if (!own_ranges && !(args.lr_low > 0 && args.lr_high >= args.lr_low && std::isfinite(args.lr_high)))
    throw UsageError(str_cat("--lr: expected 0 < LO <= HI, got ", args.lr_low, "..", args.lr_high));
  if (args.points < 1 || (args.points == 1 && !own_ranges && args.lr_low != args.lr_high))
    throw UsageError(str_cat("--points must be >= 2 (1 when LO = HI), got ", args.points));
  if (args.jobs < 1) throw UsageError(str_cat("--jobs must be >= 1, got ", args.jobs));
  // Each run is a training process that keeps a core busy: more at once than cores only thrash.
  if (args.jobs > available_cpus())
    throw UsageError(str_cat("--jobs must be at most the ", available_cpus(), " CPUs this process may use, got ",
                             args.jobs));
  if (args.threads < 0) throw UsageError(str_cat("--threads must be >= 1, got ", args.threads));
  if (!(args.target > 0 && args.target <= 1))
    throw UsageError(str_cat("--target must be in (0, 1], got ", args.target));
  if (!(args.basin >= 0)) throw UsageError(str_cat("--basin must be >= 0, got ", args.basin));
  validate(args.base);
  parse_device(args.device);
  if (!args.report.empty()) check_report_path(args.report);
  std::vector<OptimizerChoice> optimizers;
  for (const std::string& text : args.optimizers) optimizers.push_back(parse_optimizer_choice(text, args.base));
  const std::string data = args.data_dir.empty() ? default_data_dir(args.base.dataset) : args.data_dir;
  check_data_present(data, args.base.dataset);

  LrGrids grids;
  std::vector<Run> grid;
  for (const auto& o : optimizers) {
    // Three decades centred on the optimizer's declared lr (1e-3..1 for 0.0316): each one searched
    // around its own default, so no optimizer's range is chosen for another's.
    const double centre = own_ranges ? optim::default_lr(o.name) : 0, half = args.points == 1 ? 1 : std::pow(10.0, 1.5);
    grids[o.label] = own_ranges ? log_grid(centre / half, centre * half, args.points)
                                : log_grid(args.lr_low, args.lr_high, args.points);
    for (const std::string& lr : grids[o.label])
      for (uint64_t seed : args.seeds) grid.push_back({o, lr, seed});
  }

  // ---- the output directory: a new one, or one holding this very sweep's earlier runs
  const std::string runs_dir = args.out + "/runs";
  std::error_code ec;
  std::filesystem::create_directories(runs_dir, ec);
  if (ec) throw UsageError("--out: cannot create '" + runs_dir + "' (" + ec.message() + ")");
  const std::string settings = to_json(args.base), settings_path = args.out + "/sweep.json";
  if (std::filesystem::exists(settings_path)) {
    std::ifstream in(settings_path);
    const std::string before((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (before != settings)
      throw UsageError("--out " + args.out + " holds a sweep with other training settings (" + settings_path +
                       "); use another --out, or the same flags to continue it");
  } else {
    data::write_text_atomically(settings_path, settings, "sweep --out");
  }
  const std::string csv_path = args.out + "/sweep.csv";
  std::vector<Result> results = read_csv(csv_path);
  const auto done = [&](const Run& r) {
    return std::any_of(results.begin(), results.end(), [&](const Result& x) {
      return x.optimizer == r.optimizer.label && x.lr == r.lr && x.seed == r.seed;
    });
  };
  std::vector<Run> pending;
  for (const Run& r : grid)
    if (!done(r)) pending.push_back(r);
  data::OutputFile csv(csv_path, "sweep --out", /*append=*/true);  // the output policy, data/atomic_file.h
  if (results.empty() && std::filesystem::file_size(csv_path) == 0) csv.write(std::string(kHeader) + '\n');
  const int threads =
      args.threads > 0 ? args.threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / args.jobs);
  std::string ranges;  // "1e-3..1", or each optimizer's own range
  for (const auto& o : optimizers) {
    const std::vector<std::string>& own = grids.at(o.label);
    const std::string range = own.front() + ".." + own.back();
    if (!own_ranges) {
      ranges = range;
      break;
    }
    ranges += (ranges.empty() ? "around each one's default lr: " : ", ") + o.label + " " + range;
  }
  std::printf(
      "sweep: %zu optimizers × %d lrs (%s) × %zu seed%s = %zu runs, %zu already in %s; %d at a time, "
      "%d thread%s each\n",
      optimizers.size(), args.points, ranges.c_str(), args.seeds.size(), args.seeds.size() == 1 ? "" : "s", grid.size(),
      grid.size() - pending.size(), csv_path.c_str(), args.jobs, threads, threads == 1 ? "" : "s");
  std::fflush(stdout);

  // ---- the runs, up to --jobs at once
  stop_requested = 0;
  struct sigaction action {
  }, old_int{}, old_term{};
  action.sa_handler = request_sweep_stop;
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);
  std::map<pid_t, Run> running;
  size_t next = 0, finished = grid.size() - pending.size();
  std::string failure;
  bool forwarded = false;
  while ((next < pending.size() && !stop_requested && failure.empty()) || !running.empty()) {
    while (next < pending.size() && static_cast<int>(running.size()) < args.jobs && !stop_requested &&
           failure.empty()) {
      const Run& run = pending[next++];
      TrainConfig config = args.base;
      config.optimizer = run.optimizer.name;
      config.optimizer_options.insert(config.optimizer_options.end(), run.optimizer.options.begin(),
                                      run.optimizer.options.end());
      config.lr = std::stof(run.lr);
      config.seed = run.seed;
      const std::string stem = runs_dir + "/" + run.stem();
      std::vector<std::string> argv_strings = {args.program};
      for (const std::string& plugin : args.plugins) argv_strings.insert(argv_strings.end(), {"--plugin", plugin});
      argv_strings.insert(argv_strings.end(),
                          {"train", "--config-json", to_json(config), "--quiet", "--summary", stem + ".json", "--data",
                           data, "--device", args.device, "--threads", std::to_string(threads)});
      std::vector<char*> argv;
      for (std::string& a : argv_strings) argv.push_back(a.data());
      argv.push_back(nullptr);
      const data::OutputFile log(stem + ".log", "sweep --out");  // its output, under the output policy
      const pid_t pid = ::fork();
      check(pid >= 0, "sweep: fork failed");
      if (pid == 0) {  // the run: its output to its log, then minidl train (no allocation in between)
        ::signal(SIGINT, SIG_DFL);
        ::signal(SIGTERM, SIG_DFL);
        if (::dup2(log.fd(), 1) < 0 || ::dup2(log.fd(), 2) < 0) ::_exit(126);
        ::execv(argv[0], argv.data());
        ::_exit(127);
      }
      running.emplace(pid, run);
    }
    if (stop_requested && !forwarded) {  // pass the stop on: each run ends after its current step
      for (const auto& [child, run] : running) ::kill(child, SIGINT);
      forwarded = true;
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    const auto it = running.find(pid);
    if (it == running.end()) continue;
    const Run run = it->second;
    running.erase(it);
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    const std::string log_path = runs_dir + "/" + run.stem() + ".log";
    std::ifstream log_file(log_path);
    const std::string log((std::istreambuf_iterator<char>(log_file)), std::istreambuf_iterator<char>());
    const bool diverged = code == 1 && log.find("training diverged") != std::string::npos;
    if (code != 0 && !diverged) {
      if (!stop_requested && failure.empty()) failure = str_cat(run.stem(), " failed (exit ", code, "): ", log);
      continue;  // stopped or failed: not recorded, so a resumed sweep runs it again
    }
    const Result r = read_run(run, runs_dir, code, args.target);
    results.push_back(r);
    csv.write(csv_line(r) + '\n');
    ++finished;
    std::printf("sweep: [%zu/%zu] %s lr %s seed %llu: %s\n", finished, grid.size(), run.optimizer.label.c_str(),
                run.lr.c_str(), static_cast<unsigned long long>(run.seed),
                diverged ? "diverged" : (fixed(100 * r.accuracy, 2) + "%").c_str());
    std::fflush(stdout);
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  if (!failure.empty()) throw Error("sweep: " + failure);
  if (stop_requested) {
    std::printf("sweep: interrupted; %zu of %zu runs done and kept in %s; run the same command again to continue\n",
                finished, grid.size(), csv_path.c_str());
    std::fflush(stdout);
    return 130;
  }

  // ---- the report: markdown table and basins, then the plot
  const std::string md = report(optimizers, grids, results, args.basin, args.target);
  data::write_text_atomically(args.out + "/sweep.md", md, "sweep --out");
  std::printf("\n%s", md.c_str());
  const std::string script = std::string(MINIDL_SOURCE_DIR) + "/scripts/plot_sweep.py";
  const std::string python = std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  // The plot is drawn in a private directory, then published under the output policy.
  const data::PrivateDirectory drawing("sweep --out");
  const std::string command = python + " " + script + " " + csv_path + " " + (drawing / "sweep.png");
  if (std::filesystem::exists(script) && std::system((command + " > /dev/null 2>&1").c_str()) == 0 &&
      (data::publish_copy(drawing / "sweep.png", args.out + "/sweep.png", "sweep --out"), true))
    std::printf("\nwrote %s, %s/sweep.md, %s/sweep.png\n", csv_path.c_str(), args.out.c_str(), args.out.c_str());
  else
    std::printf("\nwrote %s and %s/sweep.md; for the plot (python3-matplotlib): %s %s %s %s/sweep.png\n",
                csv_path.c_str(), args.out.c_str(), python.c_str(), script.c_str(), csv_path.c_str(), args.out.c_str());
  if (!args.report.empty()) print_written(write_sweep_report(args.report, args.out));
  return 0;
}


namespace {
// --lr LO..HI of a sweep (absent: each optimizer's range is centred on its own lr).
void parse_lr_range(const std::string& range, SweepArgs& w) {
  if (range.empty()) return;
  const size_t dots = range.find("..");
  if (dots == std::string::npos) throw UsageError("--lr: expected a range LO..HI, e.g. 1e-3..1, got '" + range + "'");
  w.lr_low = parse_number<double>(range.substr(0, dots), "--lr");
  w.lr_high = parse_number<double>(range.substr(dots + 2), "--lr");
}
}  // namespace

Command add_sweep(CLI::App& app, const std::vector<std::string>& plugins) {
  struct Flags {
    SweepArgs args;
    RunFlags run;
    std::string optimizers = "sgd,momentum,nesterov,adam", lr, seeds = "0";
    CLI::Option* epochs = nullptr;
  };
  auto f = std::make_shared<Flags>();
  SweepArgs& w = f->args;
  CLI::App* sweep = app.add_subcommand(
      "sweep",
      "train each optimizer at each lr of a log grid over seeds (same start per seed); CSV, table, plot, "
      "and each optimizer's lr basin width");
  sweep->add_option("--optimizers", f->optimizers, "comma-separated optimizers, each name[:key=value[:key=value…]]")
      ->capture_default_str();
  sweep->add_option("--lr", f->lr,
                    "the lr range LO..HI, log-spaced with --points (default: for each optimizer, its own lr "
                    "(lr= below) ×/÷ 10^1.5, three decades centred on it)");
  sweep->add_option("--points", w.points, "grid points from LO to HI (both included)")->capture_default_str();
  sweep->add_option("--seeds", f->seeds, "comma-separated seeds (initial weights and batch order)")
      ->capture_default_str();
  f->epochs = sweep->add_option("--epochs", f->run.config.epochs, "epochs per run")->capture_default_str();
  f->run.add_to(sweep, /*with_optimizer_and_lr=*/false);
  sweep->add_option("--jobs", w.jobs, "runs at once, each its own process")->capture_default_str();
  add_runtime_flags(sweep, w, kData | kThreads | kDevice, "CPU threads per run (default: the cores divided among --jobs)");
  sweep->add_option("--out", w.out, "directory for sweep.csv, sweep.md, sweep.png and each run's files")
      ->capture_default_str();
  sweep->add_option("--target", w.target, "test accuracy for the steps-to-reach column (0.97: 97%)")
      ->capture_default_str();
  sweep->add_option("--report", w.report,
                    "write a self-contained HTML report: accuracy against the lr, curves at the best lrs");
  sweep->add_option("--basin", w.basin, "accuracy points below an optimizer's best that still count as its basin")
      ->capture_default_str();
  sweep->footer("\nA sweep resumes: run the same command again and the runs already in --out/sweep.csv are kept.\n" +
                optimizers_footer());
  return {sweep, [f, &plugins] {
            SweepArgs& w = f->args;
            std::vector<std::string> set = {"optimizer", "lr"};  // the sweep sets both per run
            if (f->epochs->count()) set.push_back("epochs");
            w.base = f->run.finish(nullptr, set);
            w.optimizers = split_list(f->optimizers);
            parse_lr_range(f->lr, w);
            for (const std::string& seed : split_list(f->seeds))
              w.seeds.push_back(parse_number<uint64_t>(seed, "--seeds"));
            w.program = "/proc/self/exe";
            w.plugins = plugins;  // each run is a process of its own: it loads them too
            return run_sweep(w);
          }};
}

}  // namespace minidl::cli
