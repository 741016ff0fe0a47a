// What every subcommand's flags share: the run settings' flags (train, compare, sweep), --data,
// --threads and --device, number and list parsing, the optimizers' and layers' help. Each
// subcommand registers its own flags beside its runner (add_train in train.cpp, …) and returns a
// Command; main.cpp only dispatches.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cli/commands.h"

namespace minidl::cli {

/// A subcommand as main dispatches it: its CLI11 app, and what runs it once the line is parsed
/// (the flags it reads live in the closure).
struct Command {
  CLI::App* app;
  std::function<int()> run;
};

Command add_train(CLI::App& app);
Command add_eval(CLI::App& app);
Command add_compare(CLI::App& app);
/// `plugins`: the --plugin libraries, passed to every run the sweep starts.
Command add_sweep(CLI::App& app, const std::vector<std::string>& plugins);
Command add_explain_step(CLI::App& app);
Command add_predict(CLI::App& app);
Command add_report(CLI::App& app);
Command add_graph(CLI::App& app);

/// An unsigned flag (a seed): "-1" would otherwise wrap to 2^64 - 1.
extern const CLI::Validator kNonNegative;

/// "sgd | momentum | …" for --optimizer's help.
std::string joined_names();
/// The layer kinds of --model descriptions (plugins' included), under the help of commands that take it.
std::string layers_footer();
/// The optimizers (plugins included) with their options, under a command's --help.
std::string optimizers_footer();

// The flags that set a run's settings, shared by train, compare and sweep (and so by every run a
// sweep starts): one definition, so a sweep accepts every training flag train does.
struct RunFlags {
  TrainConfig config;
  std::string hidden = "256", milestones;
  float momentum = 0.9f, dampening = 0.f;
  std::vector<std::string> opts;
  std::vector<std::pair<std::string, CLI::Option*>> given;  // (flag name, option) for "was it given"
  CLI::Option* momentum_option = nullptr;
  CLI::Option* dampening_option = nullptr;

  void add_to(CLI::App* app, bool with_optimizer_and_lr);
  /// After parsing: the lists, the options given, which flags were set, and the model's recipe for
  /// the settings neither those flags nor the command itself (`also_set`: "epochs", compare's "lr") set.
  TrainConfig finish(std::vector<std::string>* flags_given = nullptr, std::vector<std::string> also_set = {});

 private:
  void add_schedule_and_step_to(CLI::App* app, bool with_seed);
};

/// "a,b,,c" → {"a", "b", "c"}.
std::vector<std::string> split_list(const std::string& text);

/// --data, --threads and --device, defined once for every command that takes them.
enum RuntimeFlag { kData = 1, kThreads = 2, kDevice = 4 };
/// --memory-budget-mb of whichever command runs (cli/model.h).
extern double memory_budget_mb;
void add_runtime_flags(CLI::App* app, RuntimeFlags& r, int which,
                       const char* threads_help = "CPU threads (default 0: as many as CPUs are free now, "
                                                  "checked again each epoch)");

template <class T>
T parse_number(const std::string& text, const char* flag) {
  if constexpr (std::is_unsigned_v<T>)  // ">>" reads "-1" as 2^64 - 1
    if (text.find('-') != std::string::npos) throw UsageError(std::string(flag) + ": '" + text + "' is negative");
  std::istringstream in(text);
  T value{};
  if (!(in >> value) || !in.eof()) throw UsageError(std::string(flag) + ": '" + text + "' is not a number");
  return value;
}

}  // namespace minidl::cli
