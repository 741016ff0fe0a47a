// minidl explain-step: one update of one weight, term by term, with the formula each term comes
// from — on the batch the checkpoint's run would have trained on next. Then the optimizer's own
// step() runs, and its result is compared with the explanation, so the two cannot drift apart.
#include <cmath>
#include <cstdio>
#include <sstream>

#include "cli/checkpoint.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/model.h"
#include "core/backend.h"
#include "core/grad_mode.h"
#include "data/data_loader.h"
#include "kernels/optimizer_math.h"
#include "nn/functional.h"
#include "nn/sequential.h"
#include "optim/adagrad.h"
#include "optim/adam.h"
#include "optim/adamw.h"
#include "optim/nesterov.h"
#include "optim/rmsprop.h"

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

std::string hyper(float v) {  // a hyperparameter, exactly as the run used it (shortest round-trip text)
  return optim::format_option(v + 0.f);
}

std::string num(double v) {  // a computed value, to 8 significant digits, never "-0"
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.8g", v + 0.0);
  return buf;
}

}  // namespace

int run_explain_step(const ExplainArgs& args) {
  apply_threads_flag(args.threads);
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
  const std::string kind = optimizer->name();
  const auto* nesterov_opt = dynamic_cast<const optim::Nesterov*>(optimizer.get());
  const bool nesterov = nesterov_opt != nullptr;
  const std::string form = nesterov ? optim::to_string(nesterov_opt->form()) : "";
  const bool known = kind == "sgd" || kind == "momentum" || (nesterov && form != "lookahead") || kind == "adam" ||
                     kind == "adamw" || kind == "rmsprop" || kind == "adagrad";
  if (!known)
    throw UsageError(
        "explain-step explains sgd, momentum, nesterov (pytorch and sutskever forms), adam, adamw, "
        "rmsprop and adagrad; this run uses " +
        config.optimizer + (nesterov ? " (" + form + " form)" : std::string()));

  // The parameter, its index in the optimizer (for its buffer) and its group.
  Tensor param;
  for (const auto& [name, p] : model->named_parameters())
    if (name == args.param) param = p;
  if (!param.defined()) {
    std::string known;
    for (const auto& [name, p] : model->named_parameters()) known += (known.empty() ? "" : ", ") + name;
    throw UsageError("--param: no parameter '" + args.param + "' (the model has " + known + ")");
  }
  const int64_t flat = flat_index(args.index, param.shape(), args.param);
  int64_t opt_index = 0, found = -1;
  const optim::ParamGroup* group = nullptr;
  for (const auto& grp : optimizer->param_groups())
    for (const Tensor& p : grp.params) {
      if (p.is_same(param)) found = opt_index, group = &grp;
      ++opt_index;
    }
  const Tensor buffer = optimizer->state("momentum_buffer", found);

  // The batch the run would train on next, at the lr its schedule gives there.
  const std::string dir = args.data_dir.empty() ? default_data_dir(config.dataset) : args.data_dir;
  check_data_present(dir, config.dataset);
  const data::ImageDataset train = data::load_mnist_format(dir, data::Split::train, dataset_info(config.dataset));
  data::DataLoader loader(train, {.batch_size = config.batch_size, .shuffle = true, .seed = config.seed + 1});
  loader.generator().set_state(ck.state.loader_rng);
  loader.begin();
  const int64_t batch_index = ck.state.batch < loader.num_batches() ? ck.state.batch : 0;
  const auto schedule = make_schedule(config, loader.num_batches());
  schedule->load_state(ck.state.schedule_state);
  schedule->apply(*optimizer,
                  static_cast<double>(ck.state.epoch) + static_cast<double>(batch_index) / loader.num_batches());
  const data::Batch batch = loader.batch(batch_index);
  optimizer->zero_grad();
  const Tensor loss =
      nn::functional::cross_entropy((*model)(model_input(batch.inputs, model_input_shape(config))), batch.targets);
  loss.backward();

  // The terms, computed in float exactly as the optimizer's kernel does (kernels/optimizer_math.h).
  const float lr = group->lr, wd = group->weight_decay;
  const float theta = at(param, flat), grad = at(param.grad(), flat);
  std::printf("explain-step: %s[%s] at step %lld (epoch %lld, batch %lld of %lld; loss on this batch %.6g)\n",
              args.param.c_str(), args.index.c_str(), static_cast<long long>(optimizer->steps() + 1),
              static_cast<long long>(ck.state.epoch + 1), static_cast<long long>(batch_index + 1),
              static_cast<long long>(loader.num_batches()), loss.item());
  std::string settings;
  for (const auto& [key, value] : optim::optimizer_options_in_use(config.optimizer, optimizer_config(config)))
    if (key != "weight_decay") settings += ", " + key + " " + value;
  std::printf("%s, lr %s, weight decay %s%s\n\n", config.optimizer.c_str(), hyper(lr).c_str(), hyper(wd).c_str(),
              settings.c_str());
  line("θ", theta, "the weight now");
  line("grad", grad, "∂loss/∂θ on this batch (backward)");
  float delta = 0;
  // A state slot's value before the step (its initial value if the parameter has not stepped yet).
  const auto before = [&](const char* slot, float initial) {
    const Tensor t = optimizer->state(slot, found);
    return t.defined() ? at(t, flat) : initial;
  };
  const int64_t t_step = optimizer->param_steps(found) + 1;  // this parameter's step count, this step included
  if (kind == "adam" || kind == "adamw") {
    const bool decoupled = kind == "adamw";
    const auto [b1, b2] = decoupled ? dynamic_cast<const optim::AdamW&>(*optimizer).options().betas
                                    : dynamic_cast<const optim::Adam&>(*optimizer).options().betas;
    const float eps = decoupled ? dynamic_cast<const optim::AdamW&>(*optimizer).options().eps
                                : dynamic_cast<const optim::Adam&>(*optimizer).options().eps;
    const bool amsgrad = decoupled ? dynamic_cast<const optim::AdamW&>(*optimizer).options().amsgrad
                                   : dynamic_cast<const optim::Adam&>(*optimizer).options().amsgrad;
    float p = theta, gt = grad;
    if (decoupled) {
      const float decay = static_cast<float>(1.0 - static_cast<double>(lr) * wd);
      p = theta * decay;
      line("θ·(1 − lr·wd)", p, "AdamW's decoupled weight decay, before the update: " + num(theta) + " · " + num(decay));
    } else {
      if (wd != 0.f) gt = grad + wd * theta;
      line("g", gt, "g = grad + wd·θ (Adam's weight decay is an L2 term in the gradient)");
    }
    const float m0 = before("exp_avg", 0.f), v0 = before("exp_avg_sq", 0.f);
    const float m = m0 * b1 + static_cast<float>(1.0 - b1) * gt;
    const float v = v0 * b2 + static_cast<float>(1.0 - b2) * (gt * gt);
    line("m (before)", m0, t_step == 1 ? "exp_avg starts at 0" : "exp_avg: the running mean of g");
    line("m (after)", m,
         "m = β1·m + (1 − β1)·g = " + hyper(b1) + " · " + num(m0) + " + " + hyper(1.f - b1) + " · " + num(gt));
    line("v (before)", v0, t_step == 1 ? "exp_avg_sq starts at 0" : "exp_avg_sq: the running mean of g²");
    line("v (after)", v,
         "v = β2·v + (1 − β2)·g² = " + hyper(b2) + " · " + num(v0) + " + " + hyper(1.f - b2) + " · " + num(gt * gt));
    float second = v;
    if (amsgrad) {
      const float vmax = std::max(before("max_exp_avg_sq", 0.f), v);
      line("v_max", vmax, "amsgrad: v_max = max(v_max, v), used in place of v");
      second = vmax;
    }
    float step_size = 0, correction = 0;
    kernels::math::adam_scalars({.lr = lr, .beta1 = b1, .beta2 = b2}, t_step, step_size, correction);
    line("t", static_cast<double>(t_step), "this parameter's step count");
    line("lr/(1 − β1^t)", step_size, "the step size, with m's bias correction");
    line("√(1 − β2^t)", correction, "v's bias correction");
    const float denom = std::sqrt(second) / correction + eps;
    line("denom", denom, "√v / √(1 − β2^t) + eps (eps " + hyper(eps) + ")");
    const float after = p + -step_size * (m / denom);
    delta = after - theta;
    line("Δθ", delta,
         decoupled ? "Δθ = (θ·(1 − lr·wd) − θ) − lr/(1 − β1^t) · m / denom" : "Δθ = −lr/(1 − β1^t) · m / denom");
  } else if (kind == "rmsprop") {
    const auto& o = dynamic_cast<const optim::RMSprop&>(*optimizer).options();
    const float gt = wd != 0.f ? grad + wd * theta : grad;
    line("g", gt, "g = grad + wd·θ");
    const float v0 = before("square_avg", 0.f);
    const float v = v0 * o.alpha + static_cast<float>(1.0 - o.alpha) * (gt * gt);
    line("v (before)", v0, "square_avg: the running mean of g²");
    line("v (after)", v,
         "v = α·v + (1 − α)·g² = " + hyper(o.alpha) + " · " + num(v0) + " + " + hyper(1.f - o.alpha) + " · " +
             num(gt * gt));
    float avg;
    if (o.centered) {
      const float a0 = before("grad_avg", 0.f);
      const float a = a0 * o.alpha + static_cast<float>(1.0 - o.alpha) * gt;
      line("ḡ (after)", a, "centered: ḡ = α·ḡ + (1 − α)·g, from " + num(a0));
      avg = std::sqrt(v + -1.f * (a * a)) + o.eps;
      line("avg", avg, "√(v − ḡ²) + eps: the gradient's running standard deviation");
    } else {
      avg = std::sqrt(v) + o.eps;
      line("avg", avg, "√v + eps: the gradient's running root mean square");
    }
    if (o.momentum > 0.f) {
      const float b0 = before("momentum_buffer", 0.f);
      const float b = b0 * o.momentum + gt / avg;
      line("b (after)", b, "b = μ·b + g/avg = " + hyper(o.momentum) + " · " + num(b0) + " + " + num(gt / avg));
      delta = -lr * b;
      line("Δθ", delta, "Δθ = −lr·b");
    } else {
      delta = -lr * (gt / avg);
      line("Δθ", delta, "Δθ = −lr·g/avg");
    }
  } else if (kind == "adagrad") {
    const auto& o = dynamic_cast<const optim::Adagrad&>(*optimizer).options();
    const float gt = wd != 0.f ? grad + wd * theta : grad;
    line("g", gt, "g = grad + wd·θ");
    const float s0 = before("sum", o.initial_accumulator_value);
    const float sum = s0 + gt * gt;
    line("s (after)", sum, "s = s + g² = " + num(s0) + " + " + num(gt * gt));
    const float clr = kernels::math::adagrad_step_size({.lr = lr, .lr_decay = o.lr_decay}, t_step);
    line("clr", clr, "lr/(1 + (t − 1)·lr_decay), t = " + std::to_string(t_step));
    const float denom = std::sqrt(sum) + o.eps;
    line("√s + eps", denom, "");
    delta = -clr * (gt / denom);
    line("Δθ", delta, "Δθ = −clr·g/(√s + eps)");
  } else {
    // μ and τ as the optimizer resolved them (from --momentum, --dampening or --opt).
    float mu = 0.f, tau = 0.f;
    for (const auto& [key, value] : optim::optimizer_options_in_use(config.optimizer, optimizer_config(config))) {
      if (key == "momentum") mu = std::stof(value);
      if (key == "dampening") tau = std::stof(value);
    }
    const bool first = !buffer.defined();
    const float b_before = first ? 0.f : at(buffer, flat);
    const float decay = wd * theta;
    line("wd·θ", decay, "weight decay's pull towards 0: " + hyper(wd) + " · " + num(theta));
    const float gt = wd != 0.f ? grad + decay : grad;
    line("g", gt, "g = grad + wd·θ");
    if (kind == "sgd") {
      delta = -lr * gt;
      line("Δθ", delta, "Δθ = −lr·g = −" + hyper(lr) + " · " + num(gt));
    } else if (nesterov && form == "sutskever") {
      line("v (before)", b_before, first ? "the velocity starts at 0" : "the velocity from the steps so far");
      const float v = mu * b_before + -lr * gt;
      line("v (after)", v,
           "v = μ·v − lr·g = " + hyper(mu) + " · " + num(b_before) + " − " + hyper(lr) + " · " + num(gt));
      delta = mu * v - lr * gt;
      line("Δθ", delta, "Δθ = μ·v − lr·g: the look-ahead correction μ·v plus the plain step");
    } else {
      line("b (before)", b_before,
           first ? "no buffer yet: this is its first step" : "momentum buffer from the steps so far");
      const float b = first ? gt : mu * b_before + (1.f - tau) * gt;
      line("b (after)", b,
           first ? "b = g on the first step"
                 : "b = μ·b + (1 − dampening)·g = " + hyper(mu) + " · " + num(b_before) + " + " + hyper(1.f - tau) +
                       " · " + num(gt));
      if (nesterov) {
        const float d = gt + mu * b;
        line("g + μ·b", d, "Nesterov's correction: the gradient plus the momentum step about to be taken");
        delta = -lr * d;
        line("Δθ", delta, "Δθ = −lr·(g + μ·b)");
      } else {
        delta = -lr * b;
        line("Δθ", delta, "Δθ = −lr·b");
      }
    }
  }
  const float explained = theta + delta;
  line("θ (after)", explained, "θ + Δθ");

  optimizer->step();  // the optimizer's own update, to check the explanation against
  const float actual = at(param, flat);
  const double diff = std::fabs(static_cast<double>(actual) - explained);
  std::printf("\ncheck: the optimizer's step() gives θ = %.8g: %s\n", actual,
              diff <= 1e-6 * std::max(1.0, std::fabs(static_cast<double>(actual))) ? "matches" : "DIFFERS");
  return diff <= 1e-6 * std::max(1.0, std::fabs(static_cast<double>(actual))) ? 0 : 1;
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
