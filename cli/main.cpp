// The `minidl` program: train, eval, predict, compare, sweep, explain-step, graph and report. Flags are parsed
// here (CLI11); each subcommand lives in its own file. Exit codes: 0 success, 1 a failure while running (unreadable
// data or checkpoint), 2 a bad command line or flag value (reported before any work starts).
#include <dlfcn.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <sstream>
#include <type_traits>

#include "cli/commands.h"
#include "cli/model.h"
#include "cli/run_record.h"
#include "cli/sample.h"
#include "data/atomic_file.h"
#include "core/backend.h"
#include "dist/world.h"
#include "nn/model_spec.h"
#include "optim/registry.h"

using namespace minidl;
using namespace minidl::cli;

namespace {

std::string joined_names() {
  std::string s;
  for (const auto& n : optim::optimizer_names()) s += (s.empty() ? "" : " | ") + n;
  return s + " (options: see below)";
}

// The layer kinds of --model descriptions (plugins' included), under the help of commands that take it.
std::string layers_footer() { return "\nLayers of a --model description, with their arguments:\n" + nn::layers_help(); }

// The optimizers (plugins included) with their options, under a command's --help.
std::string optimizers_footer() {
  return layers_footer() +
         "\nOptimizers and their options, with defaults (set with --opt key=value, repeatable, e.g.\n"
         "--opt betas=0.9,0.99 --opt amsgrad=true; --momentum, --dampening, --weight-decay and\n"
         "--nesterov-form are shorthands for those options; lr is --lr):\n" +
         optim::optimizers_help();
}

// An unsigned flag (a seed): "-1" would otherwise wrap to 2^64 - 1.
const CLI::Validator kNonNegative(
    [](std::string& text) { return text.starts_with("-") ? "must be >= 0, got " + text : std::string(); }, "");

// The flags that set a run's settings, shared by train and sweep (and so by every run a sweep
// starts): one definition, so a sweep accepts every training flag train does.
struct RunFlags {
  TrainConfig config;
  std::string hidden = "256", milestones;
  float momentum = 0.9f, dampening = 0.f;
  std::vector<std::string> opts;
  std::vector<std::pair<std::string, CLI::Option*>> given;  // (flag name, option) for "was it given"
  CLI::Option* momentum_option = nullptr;
  CLI::Option* dampening_option = nullptr;

  void add_to(CLI::App* app, bool with_optimizer_and_lr) {
    TrainConfig& c = config;
    const auto flag = [&](const char* name, CLI::Option* option) {
      given.emplace_back(name, option);
      return option;
    };
    flag("dataset", app->add_option("--dataset", c.dataset, "mnist | fashion-mnist")->capture_default_str());
    flag("model", app->add_option("--model", c.model, model_help())->capture_default_str());
    flag("hidden", app->add_option("--hidden", hidden, "hidden layer sizes, comma-separated (--model mlp)")
                       ->capture_default_str());
    flag("augment-shift", app->add_option("--augment-shift", c.augment_shift,
                                          "shift each training image by up to this many pixels (0: off)")
                              ->capture_default_str());
    if (with_optimizer_and_lr) {
      flag("optimizer", app->add_option("--optimizer", c.optimizer, joined_names())->capture_default_str());
      flag("lr", app->add_option("--lr", c.lr,
                                 "learning rate (default: the optimizer's own, its lr= below; the run's header "
                                 "prints the one used)"));
    }
    momentum_option =
        flag("momentum", app->add_option("--momentum", momentum, "momentum (momentum, nesterov, rmsprop)"));
    dampening_option = flag("dampening", app->add_option("--dampening", dampening, "dampening (momentum)"));
    flag("weight-decay",
         app->add_option("--weight-decay", c.weight_decay,
                         "weight decay (0: the optimizer's default, e.g. adamw's 0.01; --opt weight_decay=0 for none)")
             ->capture_default_str());
    flag("opt", app->add_option("--opt", opts, "an option of the optimizer, key=value (repeatable; see below)"));
    flag("schedule", app->add_option("--schedule", c.schedule,
                                     "lr schedule: none | step | multistep | exponential | cosine | onecycle | plateau")
                         ->capture_default_str());
    flag("step-size",
         app->add_option("--step-size", c.step_size, "step schedule: epochs per decay (0: a third of the run)"));
    flag("gamma", app->add_option("--gamma", c.gamma, "step, multistep, exponential: decay factor; plateau: its factor")
                      ->capture_default_str());
    flag("milestones",
         app->add_option("--milestones", milestones, "multistep schedule: epochs of each decay, e.g. 2,4"));
    flag("patience", app->add_option("--patience", c.patience,
                                     "plateau schedule: epochs without a lower training loss before a decay")
                         ->capture_default_str());
    flag("pct-start",
         app->add_option("--pct-start", c.pct_start, "onecycle schedule: the part of the run rising to --lr")
             ->capture_default_str());
    flag("warmup-epochs", app->add_option("--warmup-epochs", c.warmup_epochs, "linear lr warm-up (epochs)"));
    flag("batch-size", app->add_option("--batch-size", c.batch_size, "examples per step")->capture_default_str());
    if (with_optimizer_and_lr)
      flag("seed",
           app->add_option("--seed", c.seed, "seed of the initialization and the data order")
                   ->check(kNonNegative)  // "-1" would wrap to 2^64 - 1
                   ->capture_default_str());
    flag("nesterov-form", app->add_option("--nesterov-form", c.nesterov_form,
                                          "nesterov: pytorch (default) | sutskever | lookahead (docs/optimizers.md)"));
    flag("no-decay-bias",
         app->add_flag("--no-decay-bias", c.no_decay_bias, "no weight decay on biases (a second parameter group)"));
    flag("clip-grad-norm",
         app->add_option("--clip-grad-norm", c.clip_grad_norm, "clip the gradients' global L2 norm to this (0: off)"));
    flag("skip-nonfinite",
         app->add_flag("--skip-nonfinite", c.skip_nonfinite,
                       "skip and count steps with a non-finite loss or gradient instead of stopping"));
  }

  // After parsing: the lists, the options given, which flags were set, and the model's recipe for the
  // settings neither those flags nor the command itself (`also_set`: "epochs", compare's "lr") set.
  TrainConfig finish(std::vector<std::string>* flags_given = nullptr, std::vector<std::string> also_set = {}) {
    // "conv(8,3) relu, , ," records as "conv(8,3) relu": separators at the ends mean nothing.
    const size_t first = config.model.find_first_not_of(" \t,"), last = config.model.find_last_not_of(" \t,");
    config.model = first == std::string::npos ? "" : config.model.substr(first, last - first + 1);
    config.hidden = parse_int_list(hidden, "--hidden", "sizes");
    if (!milestones.empty()) config.milestones = parse_int_list(milestones, "--milestones", "epochs");
    if (momentum_option->count()) config.momentum = momentum;
    if (dampening_option->count()) config.dampening = dampening;
    config.optimizer_options.clear();
    for (const std::string& o : opts) {
      try {
        config.optimizer_options.push_back(optim::split_option(o));
      } catch (const Error& e) {
        throw UsageError(e.what());
      }
    }
    std::vector<std::string> set = also_set;
    for (const auto& [name, option] : given)
      if (option->count()) set.push_back(name);
    if (flags_given)
      for (const auto& [name, option] : given)
        if (option->count()) flags_given->push_back(name);
    // Without --lr, the lr the optimizer declares (Adam's 1e-3, a plugin's own): one source of defaults.
    if (std::find(set.begin(), set.end(), "lr") == set.end()) {
      try {
        config.lr = optim::default_lr(config.optimizer);
      } catch (const Error& e) {
        throw UsageError(e.what());
      }
    }
    apply_recipe(config, set);  // --model cnn's settings, where the command line gave none
    return config;
  }
};

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) items.push_back(item);
  return items;
}

// A plugin's static initializers run inside dlopen(). An exception escaping one cannot be caught
// around the call (glibc's loader is C: the unwinder stops there and calls std::terminate, exit 134),
// so while a plugin loads, terminate reports it as an error naming the plugin and exits 2.
const char* loading_plugin = nullptr;

[[noreturn]] void plugin_initialization_failed() {
  std::string what = "an exception that is not a std::exception";
  if (const std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      what = x.what();
    } catch (...) {
    }
  }
  std::fprintf(stderr, "minidl: error: --plugin %s: its initialization failed: %s\n", loading_plugin, what.c_str());
  std::fflush(stderr);
  std::_Exit(2);
}

// Loads a plugin (which runs its code with this user's rights: only load libraries you trust), or
// says why it cannot and returns false.
bool load_plugin(const std::string& plugin) {
  loading_plugin = plugin.c_str();
  const std::terminate_handler previous = std::set_terminate(plugin_initialization_failed);
  void* handle = nullptr;
  try {
    handle = dlopen(plugin.c_str(), RTLD_NOW | RTLD_GLOBAL);
  } catch (...) {  // where an exception does cross the loader
    plugin_initialization_failed();
  }
  std::set_terminate(previous);
  if (!handle) std::fprintf(stderr, "minidl: error: --plugin: cannot load %s: %s\n", plugin.c_str(), dlerror());
  return handle != nullptr;
}

// --data, --threads and --device, defined once for every command that takes them.
enum RuntimeFlag { kData = 1, kThreads = 2, kDevice = 4 };
// --memory-budget-mb of whichever command runs (cli/model.h).
double memory_budget_mb = kDefaultMemoryBudgetMiB;

void add_runtime_flags(CLI::App* app, RuntimeFlags& r, int which,
                       const char* threads_help =
                           "CPU threads (default 0: as many as CPUs are free now, "
                           "checked again each epoch)") {
  if (which & kData)
    app->add_option("--data", r.data_dir,
                    "dataset directory (default: data/mnist, or /usr/share/datasets/fashion-mnist)");
  if (which & kThreads) {
    app->add_option("--threads", r.threads, threads_help);
    app->add_option("--memory-budget-mb", memory_budget_mb,
                    "the memory a model may ask for: a training step and an evaluation batch must fit "
                    "(docs/reliability.md)")
        ->capture_default_str();
  }
  if (which & kDevice)
    app->add_option("--device", r.device, "cpu, cuda or cuda:N (checkpoints load on any device)")
        ->capture_default_str();
}

// --plugin libraries are loaded before the command line is parsed, so that --help lists the
// optimizers they register. Returns false (after printing why) when one cannot be loaded.
bool load_plugins(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string path;
    const std::string arg = argv[i];
    if (arg == "--plugin" && i + 1 < argc)
      path = argv[++i];
    else if (arg.starts_with("--plugin="))
      path = arg.substr(9);
    else
      continue;
    if (!load_plugin(path)) return false;
  }
  return true;
}

template <class T>
T parse_number(const std::string& text, const char* flag) {
  if constexpr (std::is_unsigned_v<T>)  // ">>" reads "-1" as 2^64 - 1
    if (text.find('-') != std::string::npos) throw UsageError(std::string(flag) + ": '" + text + "' is negative");
  std::istringstream in(text);
  T value{};
  if (!(in >> value) || !in.eof()) throw UsageError(std::string(flag) + ": '" + text + "' is not a number");
  return value;
}

}  // namespace

// libgomp's idle threads spin for ~300,000 iterations after each parallel region before they sleep,
// and it reads that setting only from the environment, when it is loaded. On a 2-core machine
// where anything else wants a core for a moment, that spinning doubled whole 2-thread runs (epochs
// of 0.7 s instead of 0.37 s, in about half the runs); with 10,000 every run took 0.36–0.38 s. So,
// unless the user chose a policy, minidl sets a short spin and re-executes itself once, before
// anything else has run.
//
// OpenBLAS picks its GEMM kernels from the CPU's model number, and a CPU newer than the library
// (Debian's 0.3.21 and Intel's Emerald Rapids, say) gets its generic SSE3 kernels, "Prescott": a CNN
// epoch's GEMMs ran at 17 GFLOP/s there and at 70 with the AVX-512 ones. OpenBLAS reads
// OPENBLAS_CORETYPE only when it is loaded, so when it fell back that way and the user set no core
// type, minidl names the kernels the CPU's features support and re-executes itself (the same once).
void configure_and_reexec(char** argv) {
  bool changed = false;
  if (!std::getenv("GOMP_SPINCOUNT") && !std::getenv("OMP_WAIT_POLICY")) {
    setenv("GOMP_SPINCOUNT", "10000", 1);
    changed = true;
  }
  if (!std::getenv("OPENBLAS_CORETYPE")) {
    if (const std::string core = better_blas_core(); !core.empty()) {
      setenv("OPENBLAS_CORETYPE", core.c_str(), 1);
      changed = true;
    }
  }
  if (changed) execv("/proc/self/exe", argv);  // returns only on failure: then carry on as we are
}

int main(int argc, char** argv) {
  configure_and_reexec(argv);
  remember_command_line(argc, argv);  // for reports
  // Plugins register what they define (optimizers by name) when loaded, before anything else.
  if (!load_plugins(argc, argv)) return 2;
  CLI::App app{"minidl: train MNIST classifiers from scratch, evaluate them, and classify images"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "help for every subcommand");
  std::vector<std::string> plugins;
  app.add_option("--plugin", plugins,
                 "load a shared library that registers optimizers or layers (examples/custom_optimizer, "
                 "examples/custom_layer); it runs with "
                 "your rights, so load only code you trust; repeatable");

  // ---- train
  TrainArgs t;
  RunFlags train_flags;
  CLI::App* train = app.add_subcommand("train",
                                       "train a classifier (an MLP, LeNet-5, a CNN or layers you describe), "
                                       "evaluating on the test set after every epoch");
  train_flags.add_to(train, /*with_optimizer_and_lr=*/true);
  train->footer(optimizers_footer());
  CLI::Option* epochs =
      train->add_option("--epochs", train_flags.config.epochs, "epochs to train (in all, when resuming)")
          ->capture_default_str();
  add_runtime_flags(train, t, kData | kThreads | kDevice);
  train->add_option("--metrics", t.metrics, "write a CSV row per epoch and per --log-every steps");
  train->add_option("--log-every", t.log_every, "steps between CSV rows of the training loss (0: per epoch only)")
      ->capture_default_str();
  train->add_option(
      "--summary", t.summary,
      "write a JSON summary: per-epoch loss, accuracy, train and eval seconds, start-up time, peak memory");
  train->add_option("--telemetry", t.telemetry,
                    "write per-step optimizer statistics as JSON lines: ‖g‖, ‖buffer‖, cos(g, buffer), ‖Δθ‖/‖θ‖, "
                    "each state slot's norm, lr");
  train->add_option("--report", t.report,
                    "write a self-contained HTML report: settings, curves, confusion matrix, worst mistakes, what the "
                    "first layer learned, telemetry (docs/training.md)");
  CLI::Option* save_option =
      train->add_option("--save", t.save, "checkpoint after every epoch (\"{epoch}\" in the path becomes its number)");
  train->add_option("--resume", t.resume, "continue the run saved in this checkpoint");
  train
      ->add_option("--bucket-mb", t.bucket_mb,
                   "under mpirun: MiB of gradients per all-reduce, started during backward (docs/distributed.md)")
      ->capture_default_str();
  train->add_flag("--no-overlap", t.no_overlap)->group("");  // scripts/bench-dist's baseline, not for people
  std::string config_json;  // a sweep's runs: the whole TrainConfig at once (not for people)
  train->add_option("--config-json", config_json)->group("");
  bool quiet = false;
  train->add_flag("--quiet", quiet, "no header and per-epoch lines (errors still)");
  train->add_flag("--no-progress", t.no_progress,
                  "no live progress bar (it is drawn only when stdout is a terminal, and only by rank 0)");

  // ---- eval
  EvalArgs e;
  CLI::App* eval = app.add_subcommand("eval", "test loss, accuracy and confusion matrix of a checkpoint");
  eval->add_option("--checkpoint", e.checkpoint, "checkpoint written by minidl train")->required();
  eval->add_option("--dataset", e.dataset, "mnist | fashion-mnist (default: the checkpoint's)");
  add_runtime_flags(eval, e, kData | kThreads | kDevice);

  // ---- compare
  CompareArgs c;
  RunFlags compare_flags;
  std::string compare_optimizers = "sgd,momentum,nesterov", compare_lrs, compare_seeds = "0";
  CLI::App* compare = app.add_subcommand(
      "compare", "train several optimizers from identical weights and batch order, over seeds; table and plots");
  compare
      ->add_option("--optimizers", compare_optimizers,
                   "comma-separated optimizers, each name[:key=value[:key=value…]], e.g. adam,nesterov:form=lookahead")
      ->capture_default_str();
  compare->add_option("--lr", compare_lrs,
                      "one lr for all, or one per optimizer (default: each optimizer's own, its lr= below)");
  compare->add_option("--seeds", compare_seeds, "comma-separated seeds (initial weights and batch order)")
      ->capture_default_str();
  CLI::Option* compare_epochs =
      compare->add_option("--epochs", compare_flags.config.epochs, "epochs per run")->capture_default_str();
  compare_flags.add_to(compare, /*with_optimizer_and_lr=*/false);
  add_runtime_flags(compare, c, kData | kThreads | kDevice);
  compare->add_option("--out", c.out, "directory for the CSVs, summaries and plots")->capture_default_str();
  compare->add_option("--log-every", c.log_every, "steps between CSV rows of the training loss")->capture_default_str();
  compare->add_option("--target", c.target, "test accuracy for the steps-to-reach column (0.97: 97%)")
      ->capture_default_str();
  compare->add_flag("--telemetry", c.telemetry_on, "also write each run's optimizer telemetry (JSONL)");
  compare->add_option("--report", c.report,
                      "write a self-contained HTML report: one curve per optimizer, seeds shaded");
  compare->footer(optimizers_footer());

  // ---- sweep
  SweepArgs w;
  RunFlags sweep_flags;
  std::string sweep_optimizers = "sgd,momentum,nesterov,adam", sweep_lr, sweep_seeds = "0";
  CLI::App* sweep = app.add_subcommand(
      "sweep",
      "train each optimizer at each lr of a log grid over seeds (same start per seed); CSV, table, plot, "
      "and each optimizer's lr basin width");
  sweep->add_option("--optimizers", sweep_optimizers, "comma-separated optimizers, each name[:key=value[:key=value…]]")
      ->capture_default_str();
  sweep->add_option("--lr", sweep_lr,
                    "the lr range LO..HI, log-spaced with --points (default: for each optimizer, its own lr "
                    "(lr= below) ×/÷ 10^1.5, three decades centred on it)");
  sweep->add_option("--points", w.points, "grid points from LO to HI (both included)")->capture_default_str();
  sweep->add_option("--seeds", sweep_seeds, "comma-separated seeds (initial weights and batch order)")
      ->capture_default_str();
  CLI::Option* sweep_epochs =
      sweep->add_option("--epochs", sweep_flags.config.epochs, "epochs per run")->capture_default_str();
  sweep_flags.add_to(sweep, /*with_optimizer_and_lr=*/false);
  sweep->add_option("--jobs", w.jobs, "runs at once, each its own process")->capture_default_str();
  add_runtime_flags(sweep, w, kData | kThreads | kDevice,
                    "CPU threads per run (default: the cores divided among --jobs)");
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

  // ---- explain-step
  ExplainArgs x;
  CLI::App* explain = app.add_subcommand("explain-step", "one update of one weight, term by term, with its formulas");
  explain->add_option("--checkpoint", x.checkpoint, "checkpoint written by minidl train")->required();
  explain->add_option("--param", x.param, "parameter name, e.g. 0.weight")->capture_default_str();
  explain->add_option("--index", x.index, "element index, comma-separated (e.g. 3,17)")->capture_default_str();
  add_runtime_flags(explain, x, kData | kThreads);

  // ---- predict
  PredictArgs p;
  CLI::App* predict = app.add_subcommand("predict", "classify images (PNG, BMP, PGM/PPM) with a checkpoint");
  predict->add_option("--checkpoint", p.checkpoint, "checkpoint written by minidl train")->required();
  predict->add_flag("--invert", p.invert,
                    "invert the images (for dark digits on a light background; predict warns when one looks so)");
  predict->add_flag("!--no-picture", p.picture, "do not draw the 28×28 image the model saw");
  predict->add_flag("--raw-resize", p.raw_resize,
                    "resize the whole image to 28×28 as it is, instead of preparing it as MNIST was (the digit's "
                    "box fitted into 20×20 keeping its aspect ratio, centred by its centre of mass; Fashion-MNIST "
                    "checkpoints always resize the whole image)");
  add_runtime_flags(predict, p, kDevice);
  predict->add_option("images", p.images, "image files")->required();

  // ---- report
  ReportArgs rep;
  CLI::App* report = app.add_subcommand(
      "report",
      "a self-contained HTML report from saved runs: a --summary JSON (with its checkpoint), a checkpoint, "
      "several summaries to compare, or a compare or sweep directory");
  report->add_option("--out", rep.out, "the HTML file to write")->capture_default_str();
  add_runtime_flags(report, rep, kData | kThreads | kDevice);
  report->add_option("runs", rep.inputs, "RUN.json, CHECKPOINT.safetensors, several RUN.json, or a directory")
      ->required();

  // ---- graph
  GraphArgs g;
  std::string graph_hidden = "256", graph_formats = "svg";
  CLI::App* graph = app.add_subcommand("graph",
                                       "the autograd tape of one training step as a Graphviz graph (DOT, "
                                       "and SVG/PNG when Graphviz's dot is installed)");
  graph->add_option("--model", g.config.model, model_help())->capture_default_str();
  graph->add_option("--hidden", graph_hidden, "hidden layer sizes, comma-separated (--model mlp)")
      ->capture_default_str();
  graph->add_option("--batch-size", g.config.batch_size, "examples in the step's batch")->capture_default_str();
  graph->add_option("--seed", g.config.seed, "seed of the initialization (and dropout's mask)")
      ->check(kNonNegative)
      ->capture_default_str();
  graph->add_option("--out", g.out, "the DOT file to write; rendered images go beside it")->capture_default_str();
  graph->add_option("--format", graph_formats, "svg, png, svg,png or none")->capture_default_str();
  graph->footer(layers_footer());

  const Subcommand sample = add_sample(app);  // cli/sample.cpp

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& err) {
    return app.exit(err);
  } catch (const CLI::CallForAllHelp& err) {
    return app.exit(err);
  } catch (const CLI::ParseError& err) {
    std::fprintf(stderr, "minidl: error: %s (see minidl --help)\n", err.what());
    return 2;
  }

  const char* name = *train     ? "train"
                     : *eval    ? "eval"
                     : *compare ? "compare"
                     : *sweep   ? "sweep"
                     : *explain ? "explain-step"
                     : *graph   ? "graph"
                     : *report  ? "report"
                     : *sample.app ? "sample"
                                : "predict";
  try {
    if (!(memory_budget_mb >= 1 && memory_budget_mb <= (1 << 30)))
      throw UsageError(str_cat("--memory-budget-mb must be in [1, 2^30], got ", memory_budget_mb));
    set_memory_budget_mib(memory_budget_mb);
    // Only `train` splits its work among the ranks of mpirun; the others would run N copies of
    // themselves side by side, writing the same files.
    if (!*train && dist::launched_world_size() > 1)
      throw UsageError(str_cat("started as one of ", dist::launched_world_size(),
                               " processes (mpirun), but only `minidl train` is data-parallel; run ", name,
                               " as one process"));
    if (*train) {
      t.epochs_given = epochs->count() > 0;
      t.save_given = save_option->count() > 0;
      t.config = train_flags.finish(&t.run_flags_given,
                                    t.epochs_given ? std::vector<std::string>{"epochs"} : std::vector<std::string>{});
      if (!config_json.empty()) t.config = train_config_from_json(config_json, "--config-json");
      t.quiet = quiet;
      return run_train(t);
    }
    if (*eval) return run_eval(e);
    if (*explain) return run_explain_step(x);
    if (*report) return run_report(rep);
    if (*sample.app) return sample.run();
    if (*graph) {
      g.config.hidden = parse_int_list(graph_hidden, "--hidden", "sizes");
      g.formats = graph_formats == "none" ? std::vector<std::string>{} : split_list(graph_formats);
      return run_graph(g);
    }
    if (*compare) {
      std::vector<std::string> compare_set = {"optimizer", "lr"};  // compare sets both per run
      if (compare_epochs->count()) compare_set.push_back("epochs");
      c.base = compare_flags.finish(nullptr, compare_set);
      c.optimizers = split_list(compare_optimizers);
      for (const std::string& lr : split_list(compare_lrs)) c.lrs.push_back(parse_number<float>(lr, "--lr"));
      c.seeds.clear();
      for (const std::string& seed : split_list(compare_seeds))
        c.seeds.push_back(parse_number<uint64_t>(seed, "--seeds"));
      if (c.telemetry_on) c.telemetry = "on";
      return run_compare(c);
    }
    if (*sweep) {
      std::vector<std::string> sweep_set = {"optimizer", "lr"};  // the sweep sets both per run
      if (sweep_epochs->count()) sweep_set.push_back("epochs");
      w.base = sweep_flags.finish(nullptr, sweep_set);
      w.optimizers = split_list(sweep_optimizers);
      if (!sweep_lr.empty()) {  // else each optimizer's range is centred on its own lr
        const size_t dots = sweep_lr.find("..");
        if (dots == std::string::npos)
          throw UsageError("--lr: expected a range LO..HI, e.g. 1e-3..1, got '" + sweep_lr + "'");
        w.lr_low = parse_number<double>(sweep_lr.substr(0, dots), "--lr");
        w.lr_high = parse_number<double>(sweep_lr.substr(dots + 2), "--lr");
      }
      for (const std::string& seed : split_list(sweep_seeds))
        w.seeds.push_back(parse_number<uint64_t>(seed, "--seeds"));
      w.program = "/proc/self/exe";
      w.plugins = plugins;  // each run is a process of its own: it loads them too
      return run_sweep(w);
    }
    return run_predict(p);
  } catch (const UsageError& err) {
    std::fprintf(stderr, "minidl %s: error: %s\n", name, err.what());
    return 2;
  } catch (const data::RefusedOutput& err) {  // the output policy (data/atomic_file.h): a bad command line
    std::fprintf(stderr, "minidl %s: error: %s\n", name, err.what());
    return 2;
  } catch (const std::exception& err) {
    std::fprintf(stderr, "minidl %s: error: %s\n", name, err.what());
    return 1;
  }
}
