// minidl explain-step: one update of one weight, term by term, with the formula each term comes
// from — on the batch the checkpoint's run would have trained on next. Then the optimizer's own
// step() runs, and its result is compared with the explanation, so the two cannot drift apart.
#include <cmath>
#include <cstdio>
#include <sstream>

#include "cli/checkpoint.h"
#include "cli/commands.h"
#include "core/backend.h"
#include "core/grad_mode.h"
#include "data/data_loader.h"
#include "nn/functional.h"
#include "nn/sequential.h"
#include "optim/nesterov.h"

namespace minidl::cli {

namespace {

// "3,17" → the flat offset of [3, 17] in `shape`.
int64_t flat_index(const std::string& text, const Shape& shape, const std::string& param) {
  const std::vector<int64_t> index = parse_int_list(text, "--index", "integers");
  if (static_cast<int>(index.size()) != shape.size())
    throw UsageError(detail::concat("--index: ", param, " has shape ", shape, ", so --index needs ", shape.size(),
                                    " numbers, got '", text, "'"));
  int64_t flat = 0;
  for (int d = 0; d < shape.size(); ++d) {
    const int64_t i = index[static_cast<size_t>(d)];
    if (i < 0 || i >= shape[d]) throw UsageError(detail::concat("--index: ", text, " is outside ", param, "'s shape ", shape));
    flat = flat * shape[d] + i;
  }
  return flat;
}

float at(const Tensor& t, int64_t flat) { return t.to_vector()[static_cast<size_t>(flat)]; }

// Pads by characters, not bytes: the terms are written with θ, Δ and μ.
void line(const std::string& term, double value, const std::string& formula) {
  size_t chars = 0;
  for (const unsigned char c : term) chars += (c & 0xC0) != 0x80;
  std::printf("  %s%s %15.8g   %s\n", term.c_str(), std::string(chars < 14 ? 14 - chars : 0, ' ').c_str(), value,
              formula.c_str());
}

std::string h(float v) {  // a hyperparameter, as the user wrote it
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string g(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.8g", v);
  return buf;
}

}  // namespace

int run_explain_step(const ExplainArgs& args) {
  apply_threads_flag(args.threads);
  const Checkpoint ck = load_checkpoint(args.checkpoint);
  const TrainConfig& config = ck.config;
  const bool nesterov = config.optimizer == "nesterov";
  const std::string form = config.nesterov_form.empty() ? "pytorch" : config.nesterov_form;
  if (config.optimizer != "sgd" && config.optimizer != "momentum" && !(nesterov && form != "lookahead"))
    throw UsageError("explain-step explains sgd, momentum and nesterov (pytorch and sutskever forms); this run uses " +
                     config.optimizer + (nesterov ? " (" + form + " form)" : std::string()));

  Generator unused(0);
  const auto model = nn::mlp(kInputs, config.hidden, kClasses, unused);
  load_parameters(*model, ck.parameters, args.checkpoint);
  const auto optimizer = make_trainer_optimizer(config, *model);
  optimizer->load_state(ck.optimizer_state, ck.state.optimizer_steps);

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
      if (p.impl() == param.impl()) found = opt_index, group = &grp;
      ++opt_index;
    }
  Tensor buffer;
  for (const auto& [name, t] : optimizer->state())
    if (name == "momentum_buffer." + std::to_string(found)) buffer = t;

  // The batch the run would train on next, at the lr its schedule gives there.
  const std::string dir = args.data_dir.empty() ? default_data_dir(config.dataset) : args.data_dir;
  check_data_present(dir, config.dataset);
  const data::ImageDataset train = data::load_mnist_format(dir, data::Split::train, dataset_info(config.dataset));
  data::DataLoader loader(train, {.batch_size = config.batch_size, .shuffle = true, .seed = config.seed + 1});
  loader.generator().set_state(ck.state.loader_rng);
  loader.begin();
  const int64_t batch_index = ck.state.batch < loader.num_batches() ? ck.state.batch : 0;
  make_schedule(config)->apply(*optimizer, static_cast<double>(ck.state.epoch) +
                                               static_cast<double>(batch_index) / loader.num_batches());
  const data::Batch batch = loader.batch(batch_index);
  optimizer->zero_grad();
  const Tensor loss = nn::functional::cross_entropy((*model)(batch.inputs), batch.targets);
  loss.backward();

  // The terms, computed in float exactly as the optimizer's kernel does (kernels/optimizer_math.h).
  const float lr = group->lr, wd = group->weight_decay;
  const float mu = config.optimizer == "sgd" ? 0.f : config.momentum.value_or(0.9f);
  const float tau = config.dampening.value_or(0.f);
  const float theta = at(param, flat), grad = at(param.grad(), flat);
  const bool first = !buffer.defined();
  const float b_before = first ? 0.f : at(buffer, flat);

  std::printf("explain-step: %s[%s] at step %lld (epoch %lld, batch %lld of %lld; loss on this batch %.6g)\n",
              args.param.c_str(), args.index.c_str(), static_cast<long long>(optimizer->steps() + 1),
              static_cast<long long>(ck.state.epoch + 1), static_cast<long long>(batch_index + 1),
              static_cast<long long>(loader.num_batches()), loss.item());
  std::printf("%s%s, lr %g, weight decay %g%s\n\n", config.optimizer.c_str(),
              nesterov ? (" (" + form + " form)").c_str() : "", lr, wd,
              mu != 0.f ? detail::concat(", momentum ", mu, tau != 0 ? detail::concat(", dampening ", tau) : "").c_str() : "");
  line("θ", theta, "the weight now");
  line("grad", grad, "∂loss/∂θ on this batch (backward)");
  const float decay = wd * theta;
  line("wd·θ", decay, "weight decay's pull towards 0: " + h(wd) + " · " + g(theta));
  const float gt = wd != 0.f ? grad + decay : grad;
  line("g", gt, "g = grad + wd·θ");
  float delta = 0;
  if (config.optimizer == "sgd") {
    delta = -lr * gt;
    line("Δθ", delta, "Δθ = −lr·g = −" + h(lr) + " · " + g(gt));
  } else if (nesterov && form == "sutskever") {
    line("v (before)", b_before, first ? "the velocity starts at 0" : "the velocity from the steps so far");
    const float v = mu * b_before + -lr * gt;
    line("v (after)", v, "v = μ·v − lr·g = " + h(mu) + " · " + g(b_before) + " − " + h(lr) + " · " + g(gt));
    delta = mu * v - lr * gt;
    line("Δθ", delta, "Δθ = μ·v − lr·g: the look-ahead correction μ·v plus the plain step");
  } else {
    line("b (before)", b_before, first ? "no buffer yet: this is its first step" : "momentum buffer from the steps so far");
    const float b = first ? gt : mu * b_before + (1.f - tau) * gt;
    line("b (after)", b, first ? "b = g on the first step" : "b = μ·b + (1 − dampening)·g = " + h(mu) + " · " + g(b_before) + " + " + h(1.f - tau) + " · " + g(gt));
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
  const float explained = theta + delta;
  line("θ (after)", explained, "θ + Δθ");

  optimizer->step();  // the optimizer's own update, to check the explanation against
  const float actual = at(param, flat);
  const double diff = std::fabs(static_cast<double>(actual) - explained);
  std::printf("\ncheck: the optimizer's step() gives θ = %.8g: %s\n", actual,
              diff <= 1e-6 * std::max(1.0, std::fabs(static_cast<double>(actual))) ? "matches" : "DIFFERS");
  return diff <= 1e-6 * std::max(1.0, std::fabs(static_cast<double>(actual))) ? 0 : 1;
}

}  // namespace minidl::cli
