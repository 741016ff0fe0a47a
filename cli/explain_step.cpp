// minidl explain-step: one update of one weight, term by term, with the formula each term comes
// from — on the batch the checkpoint's run would have trained on next. The terms come from the
// optimizer itself (optim::Optimizer::explain_step, written beside each optimizer's step()), so a
// built-in and a plugin's optimizer are explained by the same code. Then the optimizer's own step()
// runs, and its result is compared with the explanation, so the two cannot drift apart. A GPT's
// checkpoint (train --model gpt) is rebuilt as its run's resume would: AdamW over the model's
// parameter groups (decay on 2-D weights only, so each parameter is explained with its group's
// weight decay), the schedule's lr, the next batch of the corpus, and gradients clipped as the step clips them.
#include <cmath>
#include <cstdio>
#include <functional>
#include <optional>

#include "cli/checkpoint.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/model.h"
#include "cli/train_gpt.h"
#include "core/backend.h"
#include "core/grad_mode.h"
#include "data/data_loader.h"
#include "nn/clip_grad.h"
#include "nn/functional.h"
#include "nn/sequential.h"
#include "optim/optimizer.h"
#include "optim/registry.h"

namespace minidl::cli {

namespace {

// "3,17" → the flat offset of [3, 17] in `shape`.
int64_t flat_index(const std::string& text, const Shape& shape, const std::string& param) {
  const std::vector<int64_t> index = parse_int_list(text, "--index", "integers");
  if (static_cast<int>(index.size()) != shape.size())
    throw UsageError(str_cat("--index: ", param, " has shape ", shape, ", so --index needs ", shape.size(),
                             " numbers, got '", text, "'"));
  int64_t flat = 0;
  for (int d = 0; d < shape.size(); ++d) {
    const int64_t i = index[static_cast<size_t>(d)];
    if (i < 0 || i >= shape[d]) throw UsageError(str_cat("--index: ", text, " is outside ", param, "'s shape ", shape));
    flat = flat * shape[d] + i;
  }
  return flat;
}

float at(const Tensor& t, int64_t flat) { return t.to_vector()[static_cast<size_t>(flat)]; }

// Pads by characters, not bytes: the terms are written with θ, Δ and μ.
void line(const std::string& term, double value, const std::string& formula) {
  size_t chars = 0;
  for (const unsigned char c : term) chars += (c & 0xC0) != 0x80;
  // + 0.0 turns −0 into 0: "-0" is an artefact of the sign of a zero product, not a value to explain.
  std::printf("  %s%s %15.8g   %s\n", term.c_str(), std::string(chars < 14 ? 14 - chars : 0, ' ').c_str(), value + 0.0,
              formula.c_str());
}

// The parameter --param names and its index across the optimizer's groups (that of its state).
struct Target {
  Tensor param;
  int64_t index = -1;                        // in the optimizer
  const optim::ParamGroup* group = nullptr;  // its lr and weight decay
  int64_t flat = 0;                          // the coordinate, row-major
};

// An unknown name is refused with the first few of the model's (a GPT has dozens).
Target find_target(const ExplainArgs& args, const nn::Module& model, const optim::Optimizer& optimizer) {
  constexpr size_t kListed = 8;
  Target target;
  std::string known;
  const NamedTensors named = model.named_parameters();
  for (size_t i = 0; i < named.size(); ++i) {
    if (named[i].first == args.param) target.param = named[i].second;
    if (i < kListed) known += (known.empty() ? "" : ", ") + named[i].first;
  }
  if (named.size() > kListed) known += str_cat(", … (", named.size(), " in all)");
  if (!target.param.defined())
    throw UsageError("--param: no parameter '" + args.param + "' (the model has " + known + ")");
  target.flat = flat_index(args.index, target.param.shape(), args.param);
  int64_t i = 0;
  for (const auto& group : optimizer.param_groups())
    for (const Tensor& p : group.params) {
      if (p.is_same(target.param)) target.index = i, target.group = &group;
      ++i;
    }
  return target;
}

// Where the step falls in the run, for the header line.
struct NextBatch {
  int64_t index, count;
  float loss;
};

// The batch the run would train on next, at the lr its schedule gives there: backward() leaves its
// gradients in the parameters.
NextBatch backward_on_next_batch(const ExplainArgs& args, const Checkpoint& ck, nn::Module& model,
                                 optim::Optimizer& optimizer) {
  const TrainConfig& config = ck.config;
  const std::string dir = args.data_dir.empty() ? default_data_dir(config.dataset) : args.data_dir;
  check_data_present(dir, config.dataset);
  const data::ImageDataset train = data::load_mnist_format(dir, data::Split::train, dataset_info(config.dataset));
  data::DataLoader loader(train, {.batch_size = config.batch_size, .shuffle = true, .seed = config.seed + 1});
  loader.generator().set_state(ck.state.loader_rng);
  loader.begin();
  const int64_t batch_index = ck.state.batch < loader.num_batches() ? ck.state.batch : 0;
  const auto schedule = make_schedule(config, loader.num_batches());
  schedule->load_state(ck.state.schedule_state);
  schedule->apply(optimizer,
                  static_cast<double>(ck.state.epoch) + static_cast<double>(batch_index) / loader.num_batches());
  const data::Batch batch = loader.batch(batch_index);
  optimizer.zero_grad();
  const Tensor loss =
      nn::functional::cross_entropy(model(model_input(batch.inputs, model_input_shape(config))), batch.targets);
  loss.backward();
  return {batch_index, loader.num_batches(), loss.item()};
}

// "adam with betas 0.9,0.999, eps 1e-08": the options the run resolved, lr and weight decay apart.
std::string settings(const TrainConfig& config) {
  std::string out;
  for (const auto& [key, value] : optim::optimizer_options_in_use(config.optimizer, optimizer_config(config)))
    if (key != "weight_decay") out += ", " + key + " " + value;
  return out;
}

// What the explanation's header says about the step.
struct StepContext {
  std::string where;           // the step's place in the run, its batch's loss
  std::string optimizer_name;  // "adamw"
  std::string options;         // ", betas 0.9,0.999, eps 1e-08": lr and weight decay apart
  std::string grad = "∂loss/∂θ on this batch (backward)";
};

// The explanation of the target's update (the gradients in place), then the optimizer's own step()
// checked against it: the exit code.
int explain(const ExplainArgs& args, const Target& target, optim::Optimizer& optimizer, const StepContext& c) {
  const std::optional<optim::StepExplanation> explained = optimizer.explain_step(target.index, target.flat);
  if (!explained)
    throw UsageError(c.optimizer_name + c.options +
                     " does not explain its step (an optimizer does by overriding optim::Optimizer::explain_step)");
  std::printf("explain-step: %s[%s] at step %lld (%s)\n", args.param.c_str(), args.index.c_str(),
              static_cast<long long>(optimizer.steps() + 1), c.where.c_str());
  std::printf("%s, lr %s, weight decay %s%s\n\n", c.optimizer_name.c_str(),
              optim::explain_option(target.group->lr).c_str(),
              optim::explain_option(target.group->weight_decay).c_str(), c.options.c_str());
  const float theta = at(target.param, target.flat);
  line("θ", theta, "the weight now");
  line("grad", at(target.param.grad(), target.flat), c.grad);
  for (const optim::StepTerm& term : explained->terms) line(term.term, term.value, term.formula);
  const float after = theta + explained->delta;
  line("θ (after)", after, "θ + Δθ");

  optimizer.step();  // the optimizer's own update, to check the explanation against
  const float actual = at(target.param, target.flat);
  const bool matches =
      std::fabs(static_cast<double>(actual) - after) <= 1e-6 * std::max(1.0, std::fabs(double{actual}));
  std::printf("\ncheck: the optimizer's step() gives θ = %.8g: %s\n", actual, matches ? "matches" : "DIFFERS");
  return matches ? 0 : 1;
}

// A GPT checkpoint's run, rebuilt as `train --resume` would: the model, AdamW and its schedule with
// the checkpoint's state, the corpus (the run's, or --data), and the generators where they stood.
struct GptStep {
  explicit GptStep(const ExplainArgs& args);
  run::Checkpoint ck;
  GptSettings settings;
  nn::LoadedGPT gpt;
  data::TextDataset text;
  Generator noise;
  std::unique_ptr<optim::AdamW> optimizer;
};

template <class T>
T or_usage_error(const std::string& flag, const std::function<T()>& make) {
  try {
    return make();
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    throw UsageError(flag + ": " + e.what());
  }
}

GptSettings recorded_settings(const run::Checkpoint& ck, const std::string& path) {
  const auto it = ck.metadata.find("gpt.run");
  if (it == ck.metadata.end())
    throw UsageError(str_cat("--checkpoint ", path,
                             ": a GPT without its run's settings (no gpt.run): "
                             "explain-step explains checkpoints of minidl train --model gpt"));
  return GptSettings::parse(it->second, "--checkpoint " + path);
}

GptStep::GptStep(const ExplainArgs& args)
    : ck(or_usage_error<run::Checkpoint>("--checkpoint", [&] { return run::load_checkpoint(args.checkpoint); })),
      settings(recorded_settings(ck, args.checkpoint)),
      gpt(or_usage_error<nn::LoadedGPT>("--checkpoint", [&] { return nn::load_gpt(args.checkpoint); })),
      text(load_text(args.data_dir.empty() ? settings.data : text_path(args.data_dir), gpt.model->config().block)),
      noise(settings.seed + 2),
      optimizer(make_gpt_optimizer(*gpt.model, settings)) {
  if (text.vocabulary() != gpt.vocabulary)
    throw UsageError(str_cat("--data text:", text.name(), ": its vocabulary (", text.vocab_size(),
                             " bytes) is not the checkpoint's (", gpt.vocabulary.size(), " bytes)"));
  if (ck.optimizer != optimizer->name())
    throw UsageError(str_cat("--checkpoint ", args.checkpoint, ": its optimizer is '", ck.optimizer, "', not AdamW"));
  if (const auto* saved = ck.state.generator("noise_rng")) noise.set_state(*saved);
  if (gpt.model->config().dropout > 0) gpt.model->set_dropout_generator(noise);
  or_usage_error<int>("--checkpoint", [&] {
    optimizer->load_state(ck.optimizer_state, ck.state.optimizer_steps);
    return 0;
  });
}

int run_explain_step_gpt(const ExplainArgs& args) {
  GptStep r(args);
  nn::GPT& model = *r.gpt.model;
  const GptSettings& s = r.settings;
  const Target target = find_target(args, model, *r.optimizer);
  // The step the run takes next: its lr, and the batch from the source's generator where it stopped.
  const auto schedule = make_gpt_schedule(s);
  schedule->load_state(r.ck.state.schedule_state);
  schedule->apply(*r.optimizer, static_cast<double>(r.ck.state.optimizer_steps));
  Generator windows(s.seed + 1);
  windows.set_state(r.ck.state.loader_rng);
  const auto [x, y] = r.text.batch(data::TextSplit::train, s.batch_size, model.config().block, windows);
  model.train();
  r.optimizer->zero_grad();
  const Tensor loss = nn::GPT::loss(model(x), y);
  loss.backward();
  std::string clipped = "not clipped";
  if (s.clip_grad_norm > 0) {
    const double norm = nn::clip_grad_norm(model.parameters(), s.clip_grad_norm);
    clipped = norm > s.clip_grad_norm ? str_cat("gradient norm ", norm, " clipped to ", s.clip_grad_norm)
                                      : str_cat("gradient norm ", norm, " ≤ ", s.clip_grad_norm, ": not clipped");
  }
  const std::string where = str_cat("after ", r.ck.state.optimizer_steps, " of the run's ", s.steps, " steps on ",
                                    r.text.name(), "; loss on this batch ", loss.item(), "; ", clipped);
  const bool decayed = target.group->weight_decay > 0;
  return explain(args, target, *r.optimizer,
                 {.where = where,
                  .optimizer_name = r.optimizer->name(),
                  .options = decayed ? " (the group of 2-D weights, decayed)"
                                     : " (the group of biases and LayerNorm weights: no decay)",
                  .grad = s.clip_grad_norm > 0 ? "∂loss/∂θ on this batch (backward, then clipped as above)"
                                               : "∂loss/∂θ on this batch (backward)"});
}

}  // namespace

int run_explain_step(const ExplainArgs& args) {
  apply_threads_flag(args.threads);
  if (is_gpt_checkpoint(args.checkpoint)) return run_explain_step_gpt(args);
  const Checkpoint ck = load_checkpoint(args.checkpoint);
  const TrainConfig& config = ck.config;
  Generator unused(0);
  // Dropout draws the masks the run would draw next, so the step explained is the step it takes.
  Generator noise(config.seed + 2);
  if (const auto* saved = ck.state.generator("noise_rng")) noise.set_state(*saved);
  const auto model = make_model(config, unused, &noise);
  load_parameters(*model, ck.parameters, args.checkpoint);
  const auto optimizer = make_trainer_optimizer(config, *model);
  optimizer->load_state(ck.optimizer_state, ck.state.optimizer_steps);
  const Target target = find_target(args, *model, *optimizer);

  const NextBatch batch = backward_on_next_batch(args, ck, *model, *optimizer);
  char where[160];
  std::snprintf(where, sizeof where, "epoch %lld, batch %lld of %lld; loss on this batch %.6g",
                static_cast<long long>(ck.state.epoch + 1), static_cast<long long>(batch.index + 1),
                static_cast<long long>(batch.count), batch.loss);
  return explain(args, target, *optimizer,
                 {.where = where, .optimizer_name = config.optimizer, .options = settings(config)});
}

Command add_explain_step(CLI::App& app) {
  auto x = std::make_shared<ExplainArgs>();
  CLI::App* explain = app.add_subcommand("explain-step", "one update of one weight, term by term, with its formulas");
  explain->add_option("--checkpoint", x->checkpoint, "checkpoint written by minidl train")->required();
  explain->add_option("--param", x->param, "parameter name, e.g. 0.weight")->capture_default_str();
  explain->add_option("--index", x->index, "element index, comma-separated (e.g. 3,17)")->capture_default_str();
  add_runtime_flags(explain, *x, kData | kThreads);
  return {explain, [x] { return run_explain_step(*x); }};
}

}  // namespace minidl::cli
