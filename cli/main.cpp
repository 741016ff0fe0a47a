// The `minidl` program: train, eval, predict, compare, sweep, explain-step, graph and report. Each
// subcommand lives in its own file with its flags (add_train, …: cli/flags.h); main loads plugins,
// parses (CLI11) and dispatches. Exit codes: 0 success, 1 a failure while running (unreadable
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
#include "cli/flags.h"
#include "cli/model.h"
#include "cli/run_record.h"
#include "cli/sample.h"
#include "data/atomic_file.h"
#include "core/backend.h"
#include "distributed/world.h"
#include "nn/model_spec.h"
#include "optim/registry.h"

using namespace minidl;
using namespace minidl::cli;

namespace {

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

// A GEMM library asked for by name (MINIDL_GEMM, kernels/cpu/gemm.cpp) is checked before any work;
// it is loaded here only when asked for.
void check_gemm_choice() {
  if (!std::getenv("MINIDL_GEMM")) return;
  try {
    gemm_library();
  } catch (const Error& err) {
    throw UsageError(err.what());
  }
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

  // Each subcommand registers its own flags beside its runner (cli/flags.h).
  const std::vector<Command> commands = {add_train(app),        add_eval(app),    add_compare(app),
                                         add_sweep(app, plugins), add_explain_step(app), add_predict(app),
                                         add_report(app),       add_graph(app),
                                         add_sample(app)};
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

  const Command& chosen = *std::find_if(commands.begin(), commands.end(), [](const Command& c) { return c.app->parsed(); });
  const std::string command = chosen.app->get_name();
  const char* name = command.c_str();
  try {
    if (!(memory_budget_mb >= 1 && memory_budget_mb <= (1 << 30)))
      throw UsageError(str_cat("--memory-budget-mb must be in [1, 2^30], got ", memory_budget_mb));
    set_memory_budget_mib(memory_budget_mb);
    check_gemm_choice();
    // Only `train` splits its work among the ranks of mpirun; the others would run N copies of
    // themselves side by side, writing the same files.
    if (command != "train" && distributed::launched_world_size() > 1)
      throw UsageError(str_cat("started as one of ", distributed::launched_world_size(),
                               " processes (mpirun), but only `minidl train` is data-parallel; run ", name,
                               " as one process"));
    return chosen.run();
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
