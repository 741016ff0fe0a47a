// The `minidl` program: train, eval and predict. Flags are parsed here (CLI11); each subcommand
// lives in its own file. Exit codes: 0 success, 1 a failure while running (unreadable data or
// checkpoint), 2 a bad command line or flag value (reported before any work starts).
#include <CLI/CLI.hpp>
#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <sstream>

#include "cli/commands.h"
#include "optim/registry.h"

using namespace minidl;
using namespace minidl::cli;

namespace {

std::string joined_names() {
  std::string s;
  for (const auto& n : optim::optimizer_names()) s += (s.empty() ? "" : "|") + n;
  return s;
}

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

template <class T>
T parse_number(const std::string& text, const char* flag) {
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
void use_short_openmp_spin(char** argv) {
  if (std::getenv("GOMP_SPINCOUNT") || std::getenv("OMP_WAIT_POLICY")) return;
  setenv("GOMP_SPINCOUNT", "10000", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then carry on with the default spin
}

int main(int argc, char** argv) {
  use_short_openmp_spin(argv);
  CLI::App app{"minidl: train MNIST classifiers from scratch, evaluate them, and classify images"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "help for every subcommand");
  std::vector<std::string> plugins;
  app.add_option("--plugin", plugins,
                 "load a shared library that registers optimizers (e.g. examples/custom_optimizer); it runs with "
                 "your rights, so load only code you trust; repeatable");

  // ---- train
  TrainArgs t;
  std::string hidden = "256";
  float momentum = 0.9f, dampening = 0.f;
  CLI::App* train = app.add_subcommand("train", "train an MLP, evaluating on the test set after every epoch");
  std::vector<std::pair<std::string, CLI::Option*>> run_flags = {
      {"dataset", train->add_option("--dataset", t.config.dataset, "mnist | fashion-mnist")->capture_default_str()},
      {"hidden", train->add_option("--hidden", hidden, "hidden layer sizes, comma-separated")->capture_default_str()},
      {"optimizer", train->add_option("--optimizer", t.config.optimizer, joined_names())->capture_default_str()},
      {"lr", train->add_option("--lr", t.config.lr, "learning rate")->capture_default_str()},
      {"momentum", train->add_option("--momentum", momentum, "momentum (momentum, nesterov)")->capture_default_str()},
      {"dampening", train->add_option("--dampening", dampening, "dampening (momentum)")->capture_default_str()},
      {"weight-decay", train->add_option("--weight-decay", t.config.weight_decay, "L2 weight decay")->capture_default_str()},
      {"schedule", train->add_option("--schedule", t.config.schedule, "lr schedule: none | step | cosine")->capture_default_str()},
      {"step-size", train->add_option("--step-size", t.config.step_size, "step schedule: epochs per decay (0: a third of the run)")},
      {"gamma", train->add_option("--gamma", t.config.gamma, "step schedule: decay factor")->capture_default_str()},
      {"warmup-epochs", train->add_option("--warmup-epochs", t.config.warmup_epochs, "linear lr warm-up (epochs)")},
      {"batch-size", train->add_option("--batch-size", t.config.batch_size, "examples per step")->capture_default_str()},
      {"seed", train->add_option("--seed", t.config.seed, "seed of the initialization and the data order")->capture_default_str()},
      {"nesterov-form", train->add_option("--nesterov-form", t.config.nesterov_form,
                                          "nesterov: pytorch (default) | sutskever | lookahead (docs/optimizers.md)")},
      {"no-decay-bias", train->add_flag("--no-decay-bias", t.config.no_decay_bias,
                                        "no weight decay on biases (a second parameter group)")},
      {"clip-grad-norm", train->add_option("--clip-grad-norm", t.config.clip_grad_norm,
                                           "clip the gradients' global L2 norm to this (0: off)")},
      {"skip-nonfinite", train->add_flag("--skip-nonfinite", t.config.skip_nonfinite,
                                         "skip and count steps with a non-finite loss or gradient instead of stopping")},
  };
  CLI::Option* epochs = train->add_option("--epochs", t.config.epochs, "epochs to train (in all, when resuming)")->capture_default_str();
  train->add_option("--data", t.data_dir, "dataset directory (default: data/mnist, or /usr/share/datasets/fashion-mnist)");
  train->add_option("--threads", t.threads, "CPU threads (default 0: every CPU this process may use)");
  train->add_option("--device", t.device, "cpu, cuda or cuda:N (checkpoints load on any device)")->capture_default_str();
  train->add_option("--metrics", t.metrics, "write a CSV row per epoch and per --log-every steps");
  train->add_option("--log-every", t.log_every, "steps between CSV rows of the training loss (0: per epoch only)")->capture_default_str();
  train->add_option("--summary", t.summary,
                    "write a JSON summary: per-epoch loss, accuracy, train and eval seconds, start-up time, peak memory");
  train->add_option("--telemetry", t.telemetry,
                    "write per-step optimizer statistics as JSON lines: ‖g‖, ‖buffer‖, cos(g, buffer), ‖Δθ‖/‖θ‖, lr");
  train->add_option("--save", t.save, "checkpoint after every epoch (\"{epoch}\" in the path becomes its number)");
  train->add_option("--resume", t.resume, "continue the run saved in this checkpoint");

  // ---- eval
  EvalArgs e;
  CLI::App* eval = app.add_subcommand("eval", "test loss, accuracy and confusion matrix of a checkpoint");
  eval->add_option("--checkpoint", e.checkpoint, "checkpoint written by minidl train")->required();
  eval->add_option("--dataset", e.dataset, "mnist | fashion-mnist (default: the checkpoint's)");
  eval->add_option("--data", e.data_dir, "dataset directory");
  eval->add_option("--threads", e.threads, "CPU threads (default 0: every CPU this process may use)");
  eval->add_option("--device", e.device, "cpu, cuda or cuda:N")->capture_default_str();

  // ---- compare
  CompareArgs c;
  std::string compare_hidden = "256", compare_optimizers = "sgd,momentum,nesterov", compare_lrs, compare_seeds = "0";
  CLI::App* compare = app.add_subcommand(
      "compare", "train several optimizers from identical weights and batch order, over seeds; table and plots");
  compare->add_option("--optimizers", compare_optimizers, "comma-separated optimizer names")->capture_default_str();
  compare->add_option("--lr", compare_lrs, "one lr for all, or one per optimizer (default: sgd 0.1, others 0.01)");
  compare->add_option("--seeds", compare_seeds, "comma-separated seeds (initial weights and batch order)")->capture_default_str();
  compare->add_option("--epochs", c.base.epochs, "epochs per run")->capture_default_str();
  compare->add_option("--dataset", c.base.dataset, "mnist | fashion-mnist")->capture_default_str();
  compare->add_option("--data", c.data_dir, "dataset directory");
  compare->add_option("--hidden", compare_hidden, "hidden layer sizes, comma-separated")->capture_default_str();
  compare->add_option("--batch-size", c.base.batch_size, "examples per step")->capture_default_str();
  compare->add_option("--weight-decay", c.base.weight_decay, "L2 weight decay")->capture_default_str();
  compare->add_option("--out", c.out, "directory for the CSVs, summaries and plots")->capture_default_str();
  compare->add_option("--threads", c.threads, "CPU threads (default 0: every CPU this process may use)");
  compare->add_option("--device", c.device, "cpu, cuda or cuda:N")->capture_default_str();
  compare->add_option("--log-every", c.log_every, "steps between CSV rows of the training loss")->capture_default_str();
  compare->add_option("--target", c.target, "test accuracy for the steps-to-reach column (0.97: 97%)")->capture_default_str();
  compare->add_flag("--telemetry", c.telemetry_on, "also write each run's optimizer telemetry (JSONL)");

  // ---- explain-step
  ExplainArgs x;
  CLI::App* explain = app.add_subcommand("explain-step", "one update of one weight, term by term, with its formulas");
  explain->add_option("--checkpoint", x.checkpoint, "checkpoint written by minidl train")->required();
  explain->add_option("--param", x.param, "parameter name, e.g. 0.weight")->capture_default_str();
  explain->add_option("--index", x.index, "element index, comma-separated (e.g. 3,17)")->capture_default_str();
  explain->add_option("--data", x.data_dir, "dataset directory");
  explain->add_option("--threads", x.threads, "CPU threads (default 0: every CPU this process may use)");

  // ---- predict
  PredictArgs p;
  CLI::App* predict = app.add_subcommand("predict", "classify images (PNG, BMP, PGM/PPM) with a checkpoint");
  predict->add_option("--checkpoint", p.checkpoint, "checkpoint written by minidl train")->required();
  predict->add_flag("--invert", p.invert, "invert the images (for dark digits on a light background)");
  predict->add_option("--device", p.device, "cpu, cuda or cuda:N")->capture_default_str();
  predict->add_option("images", p.images, "image files")->required();

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

  // Plugins register what they define (optimizers by name) when loaded, before any command runs.
  for (const std::string& plugin : plugins)
    if (!load_plugin(plugin)) return 2;

  const char* name = *train ? "train" : *eval ? "eval" : *compare ? "compare" : *explain ? "explain-step" : "predict";
  try {
    if (*train) {
      t.config.hidden = parse_int_list(hidden, "--hidden", "sizes");
      if (run_flags[4].second->count()) t.config.momentum = momentum;
      if (run_flags[5].second->count()) t.config.dampening = dampening;
      for (const auto& [flag, option] : run_flags)
        if (option->count()) t.run_flags_given.push_back(flag);
      t.epochs_given = epochs->count() > 0;
      return run_train(t);
    }
    if (*eval) return run_eval(e);
    if (*explain) return run_explain_step(x);
    if (*compare) {
      c.base.hidden = parse_int_list(compare_hidden, "--hidden", "sizes");
      c.optimizers = split_list(compare_optimizers);
      for (const std::string& lr : split_list(compare_lrs)) c.lrs.push_back(parse_number<float>(lr, "--lr"));
      c.seeds.clear();
      for (const std::string& seed : split_list(compare_seeds)) c.seeds.push_back(parse_number<uint64_t>(seed, "--seeds"));
      if (c.telemetry_on) c.telemetry = "on";
      return run_compare(c);
    }
    return run_predict(p);
  } catch (const UsageError& err) {
    std::fprintf(stderr, "minidl %s: error: %s\n", name, err.what());
    return 2;
  } catch (const std::exception& err) {
    std::fprintf(stderr, "minidl %s: error: %s\n", name, err.what());
    return 1;
  }
}
