// Optimizers by name, for the trainer's --optimizer flag. Built-ins are listed in one table in
// registry.cpp, one line each; register_optimizer<T>() adds one at run time (a test, a program, or
// a plugin the minidl program loads with --plugin). An optimizer is configured the same way from
// everywhere: its Options aggregate in C++, "key=value" options here and on the command line
// (--opt betas=0.9,0.99), both read through the fields its Options lists (optim/options.h).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <minidl/optim/optimizer.h>
#include <minidl/optim/options.h>

namespace minidl::optim {

/// What a command line collects. lr, and momentum, dampening, weight_decay and form when given, are
/// shorthands for the options of those names; `options` holds the rest as key=value pairs. An
/// option the optimizer does not have is an error ("sgd: unknown option 'momentum' (sgd takes: lr,
/// weight_decay)"), except momentum or dampening 0, which mean "none". weight_decay 0 means unset:
/// the optimizer's default stays (AdamW's 1e-2; options {"weight_decay", "0"} turns it off).
/// Options left unset take the optimizer's default, lr included: each optimizer declares its own in
/// its Options (Adam's 1e-3, Lion's 1e-4), the one source of defaults for every command.
struct OptimizerConfig {
  std::optional<float> lr;  // unset: the optimizer's declared default (default_lr)
  std::optional<float> momentum;
  std::optional<float> dampening;
  float weight_decay = 0.f;
  std::string form;      // Nesterov's formulation: pytorch (empty: default), sutskever, lookahead
  OptionValues options;  // e.g. {{"betas", "0.9,0.99"}, {"amsgrad", "true"}}
};

/// A factory for optimizers registered without an option list: it interprets the config itself.
using OptimizerFactory = std::function<std::unique_ptr<Optimizer>(std::vector<Tensor>, const OptimizerConfig&)>;

/// Everything the registry knows about one optimizer.
struct OptimizerSpec {
  std::string name;
  std::vector<OptionInfo> options;  // empty for a factory registered on its own
  /// Builds it from options (every key one of `options`, lr included).
  std::function<std::unique_ptr<Optimizer>(std::vector<Tensor>, const OptionValues&)> make;
  /// All its options after parsing these: the values the optimizer will use.
  std::function<OptionValues(const OptionValues&)> resolve;
  OptimizerFactory legacy;  // set instead of make/resolve by register_optimizer(name, factory)
};

/// The spec of an optimizer class T with a nested Options aggregate that lists its fields().
template <class T>
OptimizerSpec spec(std::string name) {
  using O = typename T::Options;
  const std::string n = name;
  return {std::move(name),
          option_infos<O>(),
          [n](std::vector<Tensor> params, const OptionValues& values) -> std::unique_ptr<Optimizer> {
            return std::make_unique<T>(std::move(params), parse_options<O>(n.c_str(), values));
          },
          [n](const OptionValues& values) { return format_options(parse_options<O>(n.c_str(), values)); },
          {}};
}

/// Builds optimizer `name`; an unknown name, an unknown option or an ill-typed value throws Error
/// (naming the known ones).
std::unique_ptr<Optimizer> make_optimizer(std::string_view name, std::vector<Tensor> params,
                                          const OptimizerConfig& config);
/// The same over parameter groups (a model's optimizer_groups): each group's weight decay replaces
/// config.weight_decay for its parameters (0 there means none, not the optimizer's default); lr and
/// the other options are config's, for every group. Empty groups are skipped.
std::unique_ptr<Optimizer> make_optimizer(std::string_view name, std::vector<DecayGroup> groups,
                                          OptimizerConfig config);
/// Known names, in registration order.
std::vector<std::string> optimizer_names();
/// The registered spec of `name`. An unknown name throws, naming the known ones and pointing at
/// --plugin (an optimizer defined in a shared library exists only once the library is loaded).
const OptimizerSpec& optimizer_spec(std::string_view name);
/// The lr optimizer `name` declares in its Options (what a run without --lr uses). An optimizer
/// registered with a bare factory declares none: that throws, asking for an lr.
float default_lr(std::string_view name);
/// The options `config` gives optimizer `name`, resolved (defaults filled in) and checked, without
/// lr and without those that are off (0, false, a default choice): what a run's header prints,
/// e.g. {{"betas", "0.9,0.999"}, {"eps", "1e-08"}}. Throws like make_optimizer on a bad option.
OptionValues optimizer_options_in_use(std::string_view name, const OptimizerConfig& config);
/// One line per registered optimizer with its options and their defaults, for --help.
std::string optimizers_help();

/// Adds an optimizer under a new name (throws if the name is taken).
void register_optimizer(OptimizerSpec spec);
template <class T>
void register_optimizer(std::string name) {
  register_optimizer(spec<T>(std::move(name)));
}
/// Adds one whose factory reads an OptimizerConfig itself (it then has no option list).
void register_optimizer(std::string name, OptimizerFactory factory);

}  // namespace minidl::optim
