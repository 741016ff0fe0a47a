#include "cli/flags.h"

#include <algorithm>

#include "cli/model.h"
#include "nn/model_spec.h"
#include "optim/registry.h"

namespace minidl::cli {

const CLI::Validator kNonNegative(
    [](std::string& text) { return text.starts_with("-") ? "must be >= 0, got " + text : std::string(); }, "");

double memory_budget_mb = kDefaultMemoryBudgetMiB;

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

void RunFlags::add_to(CLI::App* app, bool with_optimizer_and_lr) {
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
  add_schedule_and_step_to(app, with_optimizer_and_lr);
}

// The lr schedule's flags, and the step's: batch, seed, the update's variants, the numerical guards.
void RunFlags::add_schedule_and_step_to(CLI::App* app, bool with_seed) {
  TrainConfig& c = config;
  const auto flag = [&](const char* name, CLI::Option* option) {
    given.emplace_back(name, option);
    return option;
  };
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
  if (with_seed)
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

TrainConfig RunFlags::finish(std::vector<std::string>* flags_given, std::vector<std::string> also_set) {
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

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) items.push_back(item);
  return items;
}

void add_runtime_flags(CLI::App* app, RuntimeFlags& r, int which, const char* threads_help) {
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

}  // namespace minidl::cli
