// optim: hand-checked first steps, 25-step trajectories against torch.optim.SGD for every
// optimizer (with weight decay and dampening) on an MSE and a cross-entropy problem, 40-step
// trajectories against torch.optim.Adam, AdamW, RMSprop and Adagrad for every option and against
// every lr schedule (reference/adaptive_trajectories.h), LR schedules against
// torch.optim.lr_scheduler, the registry and options (with an optimizer defined in this file),
// named state, state round trips and option validation.
#include <doctest/doctest.h>

#include <cmath>

#include <minidl/minidl.h>
#include "optimizer_conformance.h"
#include "reference/adaptive_trajectories.h"
#include "reference/optim_trajectories.h"
#include "testing.h"

using namespace minidl;
namespace ref = optim_reference;

namespace {

// loss = Σ c ⊙ w has the constant gradient c = [1, 2, 3, 4, 5]: every step is easy to follow by hand.
std::vector<float> two_steps(optim::Optimizer& opt, const Tensor& w) {
  const Tensor c = Tensor::from_vector({1.f, 2.f, 3.f, 4.f, 5.f}, {5});
  for (int i = 0; i < 2; ++i) {
    opt.zero_grad();
    sum(w * c).backward();
    opt.step();
  }
  return w.to_vector();
}

void check_times_c(const std::vector<float>& got, float k) {
  for (int i = 0; i < 5; ++i) CHECK(got[i] == doctest::Approx(k * (i + 1)).epsilon(1e-6));
}

// A problem's parameters and loss, as in scripts/gen_optim_reference.py.
struct Problem {
  Tensor w, b, x, y, targets;
  std::string kind;
  Tensor loss() const {
    const Tensor out = matmul(x, w.transpose(0, 1)) + b;
    return kind == "mse" ? nn::functional::mse_loss(out, y) : nn::functional::cross_entropy(out, targets);
  }
};

Problem load(const ref::Problem& p) {
  Problem out;
  out.kind = p.kind;
  out.w = Tensor::from_vector(p.w, {p.w_rows, p.w_cols}, true);
  out.b = Tensor::from_vector(p.b, {p.w_rows}, true);
  out.x = Tensor::from_vector(p.x, {p.n, p.w_cols});
  if (p.kind == "mse") out.y = Tensor::from_vector(p.y, {p.n, p.w_rows});
  if (p.kind == "cross_entropy")
    out.targets = Tensor::from_vector(std::vector<int32_t>(p.targets.begin(), p.targets.end()), {p.n});
  return out;
}

std::unique_ptr<optim::Optimizer> optimizer_for(const ref::Trajectory& t, std::vector<Tensor> params) {
  optim::OptimizerConfig c{.lr = t.lr, .weight_decay = t.weight_decay};
  if (t.optimizer != "sgd") c.momentum = t.momentum;
  if (t.optimizer == "momentum") c.dampening = t.dampening;
  return optim::make_optimizer(t.optimizer, std::move(params), c);
}

// One step of the usual loop.
void train_step(optim::Optimizer& opt, const Problem& p) {
  opt.zero_grad();
  p.loss().backward();
  opt.step();
}

std::vector<float> params_of(const Problem& p) {
  std::vector<float> v = p.w.to_vector();
  for (float x : p.b.to_vector()) v.push_back(x);
  return v;
}

/// sign(grad): a test-only optimizer, to show that one class and one registration line add an
/// optimizer the registry (and so the trainer) can build by name.
class SignSGD : public optim::Optimizer {
 public:
  SignSGD(std::vector<Tensor> params, float lr) : Optimizer(std::move(params), lr, 0.f, "signsgd") {}
  void step() override {
    NoGradGuard no_grad;
    for_each_param_with_grad([](const optim::ParamGroup& group, Tensor& p, int64_t) {
      const Tensor g = p.grad();
      p.add_(g / (sqrt(square(g)) + 1e-12f), -group.lr);  // p = p − lr·sign(g)
    });
    ++steps_;
  }
  const char* name() const override { return "signsgd"; }
};

// "betas=0.8,0.99;amsgrad=true" → the registry's options.
optim::OptionValues options_of(const std::string& text) {
  optim::OptionValues out;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = std::min(text.find(';', start), text.size());
    out.push_back(optim::split_option(text.substr(start, end - start)));
    start = end + 1;
  }
  return out;
}

// A reference trajectory's schedule (scripts/gen_adaptive_reference.py), stepped once per step.
std::unique_ptr<optim::LRSchedule> schedule_of(const adaptive_reference::Trajectory& t) {
  const auto& a = t.schedule_args;
  if (t.schedule == "step")
    return std::make_unique<optim::StepLR>(t.lr, static_cast<int64_t>(a[0]), static_cast<float>(a[1]));
  if (t.schedule == "multistep") {
    std::vector<int64_t> milestones;
    for (int i = 0; i < static_cast<int>(a[0]); ++i) milestones.push_back(static_cast<int64_t>(a[2 + i]));
    return std::make_unique<optim::MultiStepLR>(t.lr, milestones, static_cast<float>(a[1]));
  }
  if (t.schedule == "exponential") return std::make_unique<optim::ExponentialLR>(t.lr, static_cast<float>(a[0]));
  if (t.schedule == "cosine") return std::make_unique<optim::CosineAnnealingLR>(t.lr, a[0], static_cast<float>(a[1]));
  if (t.schedule == "onecycle")
    return std::make_unique<optim::OneCycleLR>(
        t.lr, static_cast<int64_t>(a[0]), 1,
        optim::OneCycleLR::Options{
            .pct_start = a[1], .div_factor = a[2], .final_div_factor = a[3], .three_phase = a[4] != 0});
  if (t.schedule == "plateau")
    return std::make_unique<optim::ReduceLROnPlateau>(
        t.lr, optim::ReduceLROnPlateau::Options{.factor = static_cast<float>(a[0]),
                                                .patience = static_cast<int64_t>(a[1]),
                                                .threshold = a[2],
                                                .cooldown = static_cast<int64_t>(a[3]),
                                                .min_lr = static_cast<float>(a[4])});
  REQUIRE(t.schedule.empty());
  return std::make_unique<optim::ConstantLR>(t.lr);
}

// max |got − want| / max |want| over the whole parameter vector.
double relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  double err = 0, scale = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    err = std::max(err, double(std::fabs(got[i] - want[i])));
    scale = std::max(scale, double(std::fabs(want[i])));
  }
  return err / scale;
}

std::unique_ptr<optim::Optimizer> by_name(const std::string& name, std::vector<Tensor> params, float lr,
                                          const std::string& options = "") {
  return optim::make_optimizer(name, std::move(params), {.lr = lr, .options = options_of(options)});
}

}  // namespace

TEST_SUITE("optim") {
  TEST_CASE("first two steps on 5 weights, checked by hand") {
    {  // SGD: p = p − lr·(c + wd·p), from p = 1
      const Tensor w = Tensor::ones({5}, {.requires_grad = true});
      optim::SGD opt({w}, {.lr = 0.1f, .weight_decay = 0.5f});
      const auto got = two_steps(opt, w);
      for (int i = 0; i < 5; ++i) {
        const float c = static_cast<float>(i + 1), p1 = 1.f - 0.1f * (c + 0.5f);
        CHECK(got[i] == doctest::Approx(p1 - 0.1f * (c + 0.5f * p1)).epsilon(1e-6));
      }
    }
    {  // Momentum: b1 = c, p1 = −0.1c; b2 = 0.9c + 0.5c = 1.4c, p2 = p1 − 0.14c = −0.24c
      const Tensor w = Tensor::zeros({5}, {.requires_grad = true});
      optim::Momentum opt({w}, {.lr = 0.1f, .momentum = 0.9f, .dampening = 0.5f});
      check_times_c(two_steps(opt, w), -0.24f);
    }
    {  // Nesterov: b1 = c, p1 = −0.1(c + 0.9c) = −0.19c; b2 = 1.9c, p2 = p1 − 0.1(c + 1.71c) = −0.461c
      const Tensor w = Tensor::zeros({5}, {.requires_grad = true});
      optim::Nesterov opt({w}, {.lr = 0.1f, .momentum = 0.9f});
      check_times_c(two_steps(opt, w), -0.461f);
    }
  }

  TEST_CASE("every optimizer follows torch.optim.SGD's trajectory for 25 steps to 1e-5") {
    for (const ref::Trajectory& t : ref::trajectories) {
      CAPTURE(t.problem);
      CAPTURE(t.config);
      const ref::Problem* spec = nullptr;
      for (const auto& p : ref::problems)
        if (p.kind == t.problem) spec = &p;
      REQUIRE(spec != nullptr);
      const Problem problem = load(*spec);
      const auto opt = optimizer_for(t, {problem.w, problem.b});
      CHECK(std::string(opt->name()) == t.optimizer);
      for (int step = 0; step < ref::kSteps; ++step) {
        CAPTURE(step);
        train_step(*opt, problem);
        // Relative error of the whole parameter vector: max |ours − torch| / max |torch|.
        const auto got = params_of(problem);
        const auto& want = t.params[static_cast<size_t>(step)];
        REQUIRE(got.size() == want.size());
        double err = 0, scale = 0;
        for (size_t i = 0; i < got.size(); ++i) {
          err = std::max(err, double(std::fabs(got[i] - want[i])));
          scale = std::max(scale, double(std::fabs(want[i])));
        }
        CHECK(err <= 1e-5 * scale);
      }
    }
  }

  TEST_CASE("StepLR and CosineAnnealingLR give torch's learning rates") {
    const optim::StepLR step(0.1f, 3, 0.5f);
    const optim::CosineAnnealingLR cosine(0.1f, 10, 0.001f);
    for (int epoch = 0; epoch < 12; ++epoch) {
      CAPTURE(epoch);
      CHECK(step.lr(epoch) == doctest::Approx(ref::step_lr[epoch]).epsilon(1e-6));
      CHECK(cosine.lr(epoch) == doctest::Approx(ref::cosine_lr[epoch]).epsilon(1e-5));
    }
    CHECK(step.lr(2.99) == doctest::Approx(0.1));  // steps at epoch boundaries, also mid-epoch
    const optim::LinearWarmup warm(std::make_unique<optim::ConstantLR>(0.2f), 2.0, 0.1f);
    CHECK(warm.lr(0) == doctest::Approx(0.02));
    CHECK(warm.lr(1) == doctest::Approx(0.11));
    CHECK(warm.lr(2) == doctest::Approx(0.2));
    CHECK(warm.lr(7) == doctest::Approx(0.2));

    const Tensor w = Tensor::zeros({1}, {.requires_grad = true});
    optim::SGD opt({w}, {.lr = 0.1f});
    step.apply(opt, 6.5);
    CHECK(opt.lr() == doctest::Approx(0.025));
    CHECK(error_of([] { optim::StepLR(0.1f, 0); }) == "StepLR: step_size must be >= 1, got 0");
    CHECK(error_of([] { optim::CosineAnnealingLR(0.1f, 0); }) == "CosineAnnealingLR: t_max must be > 0, got 0");
  }

  TEST_CASE("schedules by name: the registry builds each from a run's settings, warm-up included") {
    CHECK(optim::schedule_names() ==
          std::vector<std::string>{"none", "step", "multistep", "exponential", "cosine", "onecycle", "plateau"});
    const auto step = optim::make_schedule("step", {.lr = 0.1f, .gamma = 0.5f, .step_size = 3});
    const auto cosine = optim::make_schedule("cosine", {.lr = 0.1f, .epochs = 10});
    const optim::CosineAnnealingLR direct(0.1f, 10);
    for (int epoch = 0; epoch < 12; ++epoch) {
      CAPTURE(epoch);
      CHECK(step->lr(epoch) == doctest::Approx(ref::step_lr[epoch]).epsilon(1e-6));
      CHECK(cosine->lr(epoch) == direct.lr(epoch));
    }
    // step_size 0: a third of the run; a warm-up wraps whichever schedule is named.
    CHECK(optim::make_schedule("step", {.lr = 1.f, .epochs = 9, .gamma = 0.5f})->lr(3) == 0.5f);
    const auto warm = optim::make_schedule("none", {.lr = 0.2f, .warmup_epochs = 2});
    CHECK(warm->lr(0) == doctest::Approx(0.02));
    CHECK(warm->lr(2) == doctest::Approx(0.2));
    CHECK(error_of([] { optim::make_schedule("linear", {}); }) ==
          "unknown schedule 'linear' (known: none, step, multistep, exponential, cosine, onecycle, plateau)");
    // One line adds a schedule, under a name not taken.
    optim::register_schedule("halve-each-epoch", [](const optim::ScheduleOptions& o) {
      return std::make_unique<optim::ExponentialLR>(o.lr, 0.5f);
    });
    CHECK(optim::has_schedule("halve-each-epoch"));
    CHECK(optim::make_schedule("halve-each-epoch", {.lr = 0.8f})->lr(2) == doctest::Approx(0.2));
    CHECK(error_of([] { optim::register_schedule("cosine", nullptr); }) ==
          "register_schedule: a schedule named 'cosine' is already registered");
  }

  TEST_CASE("the registry builds optimizers by name and rejects unknown names and unused options") {
    const auto names = optim::optimizer_names();  // a test below may add one more after these
    REQUIRE(names.size() >= 3);
    CHECK(std::vector<std::string>(names.begin(), names.begin() + 7) ==
          std::vector<std::string>{"sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad"});
    const Tensor w = Tensor::zeros({2}, {.requires_grad = true});
    for (const auto& name : std::vector<std::string>(names.begin(), names.begin() + 7))
      CHECK(std::string(optim::make_optimizer(name, {w}, {.lr = 0.1f})->name()) == name);
    CHECK(error_of([&] {
            optim::make_optimizer("lamb", {w}, {});
          }).starts_with("unknown optimizer 'lamb' (known: sgd, momentum, nesterov, adam, adamw, rmsprop, adagrad"));
    CHECK(error_of([&] { optim::make_optimizer("sgd", {w}, {.momentum = 0.9f}); }) ==
          "sgd: unknown option 'momentum' (sgd takes: lr, weight_decay)");
    CHECK(error_of([&] { optim::make_optimizer("nesterov", {w}, {.dampening = 0.1f}); }) ==
          "nesterov: unknown option 'dampening' (nesterov takes: lr, momentum, weight_decay, form)");
    CHECK(optim::make_optimizer("nesterov", {w}, {.dampening = 0.f}) != nullptr);  // an explicit 0 is "none"
  }

  TEST_CASE("hyperparameters round-trip exactly through options text, the registry and the run header's values") {
    for (const float v : {1.f / 3, 0.9999999f, 1.2345678e-4f}) {
      CAPTURE(v);
      const std::string text = optim::format_option(v);
      float back = 0.f;
      REQUIRE(optim::parse_option(text, back));
      CHECK(back == v);  // bitwise: the shortest text that reads back as the same float
      optim::Betas betas;
      REQUIRE(optim::parse_option(optim::format_option(optim::Betas{v, v}), betas));
      CHECK(betas == optim::Betas{v, v});
      const Tensor w = Tensor::zeros({2}, {.requires_grad = true});
      CHECK(optim::make_optimizer("adam", {w}, {.lr = v})->lr() == v);
      CHECK(optim::make_optimizer("adam", {w}, {.lr = v, .weight_decay = v})->param_groups()[0].weight_decay == v);
      const auto used = optim::optimizer_options_in_use("momentum", {.momentum = v, .dampening = v});
      REQUIRE(used.size() == 2);
      CHECK(used[0].second == text);
      CHECK(used[1].second == text);
    }
    CHECK(optim::format_option(0.9999999f) == "0.9999999");
    CHECK(optim::format_option(1e-4f) == "0.0001");  // written as "%g" writes it where that is exact
    CHECK(optim::format_option(1e-8f) == "1e-08");
    // Without an lr each optimizer takes the one it declares.
    const Tensor w = Tensor::zeros({2}, {.requires_grad = true});
    CHECK(optim::make_optimizer("adam", {w}, {})->lr() == 1e-3f);
    CHECK(optim::make_optimizer("sgd", {w}, {})->lr() == 0.1f);
    CHECK(optim::default_lr("nesterov") == 0.01f);
  }

  TEST_CASE("an optimizer defined outside the library is one class and one registration line") {
    optim::register_optimizer("signsgd", [](std::vector<Tensor> p, const optim::OptimizerConfig& c) {
      return std::make_unique<SignSGD>(std::move(p), c.lr.value_or(0.01f));
    });
    const auto names = optim::optimizer_names();
    CHECK(std::find(names.begin(), names.end(), "signsgd") != names.end());
    CHECK(error_of([] { optim::register_optimizer("signsgd", nullptr); }) ==
          "register_optimizer: 'signsgd' is already registered");

    // It trains: minimize (w − 3)² from w = 0 with steps of 0.5.
    const Tensor w = Tensor::zeros({1}, {.requires_grad = true});
    const auto opt = optim::make_optimizer("signsgd", {w}, {.lr = 0.5f});
    for (int i = 0; i < 6; ++i) {
      opt->zero_grad();
      sum(square(w - 3.f)).backward();
      opt->step();
    }
    CHECK(w.item() == doctest::Approx(3.0));
  }

  TEST_CASE("saved state resumes bitwise the same trajectory") {
    const ref::Problem& spec = ref::problems.back();
    for (const char* name : {"sgd", "momentum", "nesterov"}) {
      CAPTURE(name);
      const Problem a = load(spec), b = load(spec);
      optim::OptimizerConfig config{.lr = 0.05f, .weight_decay = 0.01f};
      if (std::string(name) == "momentum") config.dampening = 0.2f;
      const auto opt_a = optim::make_optimizer(name, {a.w, a.b}, config);
      for (int i = 0; i < 5; ++i) train_step(*opt_a, a);
      // Copy a's parameters and optimizer state into b, then continue both.
      {
        NoGradGuard no_grad;
        b.w.copy_(a.w);
        b.b.copy_(a.b);
      }
      const auto opt_b = optim::make_optimizer(name, {b.w, b.b}, config);
      opt_b->load_state(opt_a->state(), opt_a->steps());
      CHECK(opt_b->steps() == 5);
      CHECK(opt_a->state().size() == (std::string(name) == "sgd" ? 0u : 2u));
      for (int i = 0; i < 5; ++i) {
        train_step(*opt_a, a);
        train_step(*opt_b, b);
      }
      CHECK(params_of(a) == params_of(b));
    }
  }

  TEST_CASE("parameters without a gradient are left alone") {
    const Tensor used = Tensor::ones({2}, {.requires_grad = true}), unused = Tensor::ones({2}, {.requires_grad = true});
    optim::Nesterov opt({used, unused}, {.lr = 0.1f});
    sum(used * 2.f).backward();
    opt.step();
    CHECK(unused.to_vector() == std::vector<float>{1.f, 1.f});
    CHECK(used.to_vector()[0] == doctest::Approx(1 - 0.1 * (2 + 0.9 * 2)));
    CHECK(opt.state().size() == 1);  // no buffer for the parameter that never had a gradient
    CHECK(opt.state()[0].first == "momentum_buffer.0");
  }

  TEST_CASE("options are validated with the offending value") {
    const Tensor w = Tensor::zeros({2}, {.requires_grad = true});
    CHECK(error_of([&] { optim::SGD({w}, {.lr = -0.1f}); }) == "sgd: lr must be >= 0, got -0.1");
    CHECK(error_of([&] { optim::SGD({w}, {.lr = NAN}); }) == "sgd: lr must be >= 0, got nan");
    CHECK(error_of([&] { optim::Momentum({w}, {.weight_decay = -1.f}); }) ==
          "momentum: weight_decay must be >= 0, got -1");
    CHECK(error_of([&] { optim::Momentum({w}, {.dampening = 1.5f}); }) ==
          "momentum: dampening must be in [0, 1], got 1.5");
    CHECK(error_of([&] { optim::Nesterov({w}, {.momentum = 0.f}); }) == "nesterov: momentum must be > 0, got 0");
    CHECK(error_of([] { optim::SGD({}, {}); }) == "sgd: got an empty parameter list");
    CHECK(error_of([] { optim::SGD({Tensor::zeros({2})}, {}); }) ==
          "sgd: parameters must be float32 leaf tensors that require grad");
    optim::SGD opt({w}, {});
    CHECK(error_of([&] { opt.set_lr(-1.f); }) == "sgd: lr must be >= 0, got -1");
    CHECK(error_of([&] {
            opt.load_state({{"momentum_buffer.0", Tensor::zeros({2})}}, 3);
          }).starts_with("sgd: has no per-parameter state"));
    optim::Momentum mom({w}, {});
    CHECK(error_of([&] {
            mom.load_state({{"momentum_buffer.0", Tensor::zeros({3})}}, 1);
          }) == "momentum: momentum_buffer.0 has shape [3], parameter 0 has shape [2]");
    CHECK(error_of([&] {
            mom.load_state({{"velocity.0", Tensor::zeros({2})}}, 1);
          }) == "momentum: unexpected state tensor 'velocity.0' (expected momentum_buffer.<i> with i in 0..0)");
    CHECK(error_of([&] { optim::Adam({w}, {.betas = {0.9f, 1.f}}); }) == "adam: betas[1] must be in [0, 1), got 1");
    CHECK(error_of([&] {
            optim::AdamW({w}, {.betas = {-0.1f, 0.9f}});
          }) == "adamw: betas[0] must be in [0, 1), got -0.1");
    CHECK(error_of([&] { optim::Adam({w}, {.eps = -1e-8f}); }) == "adam: eps must be >= 0, got -1e-08");
    CHECK(error_of([&] { optim::RMSprop({w}, {.alpha = -0.5f}); }) == "rmsprop: alpha must be >= 0, got -0.5");
    CHECK(error_of([&] { optim::RMSprop({w}, {.momentum = -0.9f}); }) == "rmsprop: momentum must be >= 0, got -0.9");
    CHECK(error_of([&] { optim::Adagrad({w}, {.lr_decay = -1.f}); }) == "adagrad: lr_decay must be >= 0, got -1");
    CHECK(error_of([&] { optim::Adagrad({w}, {.initial_accumulator_value = -1.f}); }) ==
          "adagrad: initial_accumulator_value must be >= 0, got -1");
    optim::Adam adam({w}, {});
    CHECK(error_of([&] {
            adam.load_state({{"step", Tensor::from_vector({1, 2}, {2})}}, 1);
          }) == "adam: step has shape [2], expected [1] (int32)");
    CHECK(error_of([&] {
            adam.load_state({{"exp_avg.0", Tensor::zeros({3})}}, 1);
          }) == "adam: exp_avg.0 has shape [3], parameter 0 has shape [2]");
  }

  TEST_CASE("Nesterov's three forms give the same iterates for 50 steps at constant lr (φ = θ + μv)") {
    // f(θ) = ½ Σ a_i θ_i² − Σ b_i θ_i: an ill-conditioned quadratic (condition number 40).
    const Tensor a = Tensor::from_vector({0.5f, 1.f, 2.f, 5.f, 10.f, 20.f}, {6});
    const Tensor b = Tensor::from_vector({1.f, -2.f, 0.5f, 3.f, -1.f, 2.f}, {6});
    const std::vector<float> start = {2.f, -1.f, 0.5f, 1.f, -0.3f, 0.7f};
    for (const float wd : {0.f, 0.01f}) {
      CAPTURE(wd);
      std::vector<Tensor> theta;
      std::vector<std::unique_ptr<optim::Nesterov>> opts;
      for (const auto form :
           {optim::Nesterov::Form::pytorch, optim::Nesterov::Form::sutskever, optim::Nesterov::Form::lookahead}) {
        theta.push_back(Tensor::from_vector(start, {6}, true));
        opts.push_back(std::make_unique<optim::Nesterov>(
            std::vector<Tensor>{theta.back()},
            optim::Nesterov::Options{.lr = 0.02f, .momentum = 0.9f, .weight_decay = wd, .form = form}));
      }
      double worst = 0;
      for (int step = 0; step < 50; ++step) {
        for (size_t k = 0; k < 3; ++k) {
          const Tensor& t = theta[k];
          opts[k]->step([&] {
            opts[k]->zero_grad();
            Tensor loss = 0.5f * sum(a * t * t) - sum(b * t);
            loss.backward();
            return loss;
          });
        }
        // The look-ahead form's parameters are θ; the others' are φ = θ + μv.
        const std::vector<float> p0 = theta[0].to_vector(), p1 = theta[1].to_vector(), th = theta[2].to_vector();
        const std::vector<float> v = opts[2]->state()[0].second.to_vector();
        double diff1 = 0, diff2 = 0, norm = 0;
        for (int i = 0; i < 6; ++i) {
          const double phi = static_cast<double>(th[i]) + 0.9 * v[i];
          diff1 += (p1[i] - p0[i]) * (p1[i] - p0[i]);
          diff2 += (phi - p0[i]) * (phi - p0[i]);
          norm += static_cast<double>(p0[i]) * p0[i];
        }
        worst = std::max({worst, std::sqrt(diff1 / norm), std::sqrt(diff2 / norm)});
      }
      MESSAGE("worst relative distance between the forms over 50 steps: " << worst);
      CHECK(worst < 2e-6);
    }
  }

  TEST_CASE("Nesterov's forms part ways once the lr changes mid-run: a closed-form example") {
    // f(x) = x²/2 (gradient x), x0 = 1, μ = 0.5; step 1 at lr 0.1, step 2 at lr 0.2.
    //   pytorch:   b1 = 1, x1 = 1 − 0.1·(1 + 0.5) = 0.85;  b2 = 0.5·1 + 0.85 = 1.35,
    //              x2 = 0.85 − 0.2·(0.85 + 0.5·1.35) = 0.545
    //   sutskever: v1 = −0.1, x1 = 1 + 0.5·(−0.1) − 0.1 = 0.85;  v2 = 0.5·(−0.1) − 0.2·0.85 = −0.22,
    //              x2 = 0.85 + 0.5·(−0.22) − 0.2·0.85 = 0.57
    //   lookahead: θ1 = 0.9, v1 = −0.1 (θ1 + μv1 = 0.85);  v2 = −0.22, θ2 = 0.68 (θ2 + μv2 = 0.57)
    // The pytorch form's buffer holds gradients without lr, so the new lr rescales the whole
    // history at once; the velocity forms keep the old lr inside v.
    const std::pair<optim::Nesterov::Form, double> cases[] = {{optim::Nesterov::Form::pytorch, 0.545},
                                                              {optim::Nesterov::Form::sutskever, 0.57},
                                                              {optim::Nesterov::Form::lookahead, 0.57}};
    for (const auto& form_expected_ : cases) {
      const auto& form = std::get<0>(form_expected_);
      const auto& expected = std::get<1>(form_expected_);
      CAPTURE(optim::to_string(form));
      const Tensor x = Tensor::from_vector({1.f}, {1}, true);
      optim::Nesterov opt({x}, {.lr = 0.1f, .momentum = 0.5f, .form = form});
      const auto closure = [&] {
        opt.zero_grad();
        Tensor loss = 0.5f * sum(x * x);
        loss.backward();
        return loss;
      };
      opt.step(closure);
      double phi = x.item();
      if (form == optim::Nesterov::Form::lookahead) phi += 0.5 * opt.state()[0].second.item();
      CHECK(phi == doctest::Approx(0.85).epsilon(1e-6));
      opt.set_lr(0.2f);
      opt.step(closure);
      phi = x.item();
      if (form == optim::Nesterov::Form::lookahead) phi += 0.5 * opt.state()[0].second.item();
      CHECK(phi == doctest::Approx(expected).epsilon(1e-6));
    }
    const Tensor x = Tensor::from_vector({1.f}, {1}, true);
    optim::Nesterov lookahead({x}, {.form = optim::Nesterov::Form::lookahead});
    CHECK(lookahead.needs_closure());
    CHECK(error_of([&] { lookahead.step(); }) ==
          "nesterov: the lookahead form takes the gradient at θ + μv; call step(closure)");
    CHECK(error_of([] { optim::parse_nesterov_form("nag"); }) ==
          "nesterov: unknown form 'nag' (known: pytorch, sutskever, lookahead)");
  }

  TEST_CASE("every built-in optimizer passes the conformance kit") {
    using optim::Nesterov;
    const auto nesterov = [](Nesterov::Form form) {
      return [form](std::vector<Tensor> p, float lr) -> std::unique_ptr<optim::Optimizer> {
        return std::make_unique<Nesterov>(std::move(p), Nesterov::Options{.lr = lr, .form = form});
      };
    };
    conformance::check_optimizer(
        {.name = "sgd", .make = [](std::vector<Tensor> p, float lr) -> std::unique_ptr<optim::Optimizer> {
           return std::make_unique<optim::SGD>(std::move(p), optim::SGD::Options{.lr = lr});
         }});
    conformance::check_optimizer({.name = "momentum",
                                  .make = [](std::vector<Tensor> p, float lr) -> std::unique_ptr<optim::Optimizer> {
                                    return std::make_unique<optim::Momentum>(std::move(p),
                                                                             optim::Momentum::Options{.lr = lr});
                                  },
                                  .quadratic_steps = 500,
                                  .rosenbrock_steps = 5000});
    for (const auto form : {Nesterov::Form::pytorch, Nesterov::Form::sutskever, Nesterov::Form::lookahead})
      conformance::check_optimizer({.name = std::string("nesterov/") + optim::to_string(form),
                                    .make = nesterov(form),
                                    .quadratic_steps = 500,
                                    .rosenbrock_steps = 5000});
  }

  TEST_CASE("parameter groups: each with its own weight decay, a parameter in one group only") {
    for (const char* name : {"sgd", "momentum", "nesterov"}) {
      CAPTURE(name);
      const Tensor w = Tensor::ones({3}, {.requires_grad = true}), b = Tensor::ones({2}, {.requires_grad = true});
      const auto opt = optim::make_optimizer(name, {w}, {.lr = 0.1f, .weight_decay = 0.5f});
      opt->add_param_group({{b}, 0.1f, 0.f});
      CHECK(opt->param_groups().size() == 2);
      opt->zero_grad();
      (0.f * (sum(w) + sum(b))).backward();  // zero gradients: only weight decay moves anything
      opt->step();
      CHECK(w.to_vector()[0] < 1.f);                         // decayed
      CHECK(b.to_vector() == std::vector<float>{1.f, 1.f});  // not
      CHECK(error_of([&] {
              opt->add_param_group({{w}, 0.1f, 0.f});
            }) == std::string(name) + ": a parameter of shape [3] is in two parameter groups");
    }
  }

  TEST_CASE("Adam, AdamW, RMSprop, Adagrad and every lr schedule follow torch.optim for 40 steps to 2e-4") {
    // Through the registry, with the options as --opt gives them: every option the issue lists
    // (amsgrad, betas, eps, coupled and decoupled decay, centered + momentum, lr decay, initial
    // accumulator), per-parameter step counts (b without a gradient every third step), and each
    // schedule driving an optimizer.
    double worst = 0;
    for (const adaptive_reference::Trajectory& t : adaptive_reference::trajectories) {
      CAPTURE(t.problem);
      CAPTURE(t.config);
      const ref::Problem* spec = nullptr;
      for (const auto& p : ref::problems)
        if (p.kind == t.problem) spec = &p;
      REQUIRE(spec != nullptr);
      Problem problem = load(*spec);
      const auto opt = by_name(t.optimizer, {problem.w, problem.b}, t.lr, t.options);
      const auto schedule = schedule_of(t);
      const Tensor no_bias = Tensor::zeros({problem.b.shape()[0]});
      for (int step = 0; step < adaptive_reference::kSteps; ++step) {
        CAPTURE(step);
        schedule->apply(*opt, step);
        CHECK(opt->lr() == doctest::Approx(t.lrs[static_cast<size_t>(step)]).epsilon(1e-5));
        Problem p = problem;
        if (t.skip_bias && step % 3 == 2) p.b = no_bias;  // b gets no gradient on this step
        double loss = 0;
        opt->step([&] {
          opt->zero_grad();
          Tensor l = p.loss();
          l.backward();
          loss = l.item();
          return l;
        });
        schedule->observe(loss);
        const double err = relative_error(params_of(problem), t.params[static_cast<size_t>(step)]);
        worst = std::max(worst, err);
        CHECK(err <= 2e-4);
      }
    }
    MESSAGE("worst relative error over " << adaptive_reference::trajectories.size() << " trajectories: " << worst);
  }

  TEST_CASE("first steps on 5 weights, checked by hand: Adam, AdamW, RMSprop, Adagrad") {
    // two_steps() minimizes Σ c ⊙ w: the constant gradient c = [1, 2, 3, 4, 5].
    {  // Adam: m̂ = c and v̂ = c² on both steps (a constant gradient), so each step is −lr·c/(|c| + ε') = −lr
      const Tensor w = Tensor::zeros({5}, {.requires_grad = true});
      optim::Adam opt({w}, {.lr = 0.1f, .betas = {0.9f, 0.999f}, .eps = 1e-8f, .weight_decay = 0.f, .amsgrad = false});
      const auto got = two_steps(opt, w);
      for (int i = 0; i < 5; ++i) CHECK(got[i] == doctest::Approx(-0.2).epsilon(1e-5));
    }
    {  // AdamW from w = 1: each step first multiplies by 1 − lr·wd = 0.95, then moves by −lr
      const Tensor w = Tensor::ones({5}, {.requires_grad = true});
      optim::AdamW opt({w},
                       {.lr = 0.1f, .betas = {0.9f, 0.999f}, .eps = 1e-8f, .weight_decay = 0.5f, .amsgrad = false});
      const auto got = two_steps(opt, w);
      for (int i = 0; i < 5; ++i) CHECK(got[i] == doctest::Approx((0.95 - 0.1) * 0.95 - 0.1).epsilon(1e-5));
    }
    {  // RMSprop (α = 0.5): v1 = 0.5c², step −lr·c/√(0.5c²) = −lr·√2; v2 = 0.75c², step −lr/√0.75
      const Tensor w = Tensor::zeros({5}, {.requires_grad = true});
      optim::RMSprop opt(
          {w}, {.lr = 0.1f, .alpha = 0.5f, .eps = 0.f, .weight_decay = 0.f, .momentum = 0.f, .centered = false});
      const auto got = two_steps(opt, w);
      for (int i = 0; i < 5; ++i)
        CHECK(got[i] == doctest::Approx(-0.1 * (std::sqrt(2.0) + 1 / std::sqrt(0.75))).epsilon(1e-5));
    }
    {  // Adagrad (lr_decay 1): s1 = c², step −lr; s2 = 2c², clr = lr/2, step −lr/(2√2)
      const Tensor w = Tensor::zeros({5}, {.requires_grad = true});
      optim::Adagrad opt(
          {w}, {.lr = 0.1f, .lr_decay = 1.f, .weight_decay = 0.f, .initial_accumulator_value = 0.f, .eps = 0.f});
      const auto got = two_steps(opt, w);
      for (int i = 0; i < 5; ++i) CHECK(got[i] == doctest::Approx(-0.1 - 0.05 / std::sqrt(2.0)).epsilon(1e-5));
    }
  }

  TEST_CASE("options: the same names from C++, the registry and key=value text, with one-line errors") {
    // Each class's Options is an aggregate in torch's argument order; betas is pair-like.
    const optim::Adam::Options adam{
        .lr = 2e-3f, .betas = {0.8f, 0.99f}, .eps = 1e-6f, .weight_decay = 0.1f, .amsgrad = true};
    CHECK(adam.betas.first == 0.8f);
    CHECK(optim::format_options(adam) ==
          optim::OptionValues{
              {"lr", "0.002"}, {"betas", "0.8,0.99"}, {"eps", "1e-06"}, {"weight_decay", "0.1"}, {"amsgrad", "true"}});
    const auto parsed = optim::parse_options<optim::Adam::Options>(
        "adam",
        {{"lr", "0.002"}, {"betas", "0.8,0.99"}, {"eps", "1e-6"}, {"weight_decay", "0.1"}, {"amsgrad", "true"}});
    CHECK(optim::format_options(parsed) == optim::format_options(adam));
    CHECK(optim::AdamW::Options{}.weight_decay == 1e-2f);
    CHECK(optim::RMSprop::Options{}.lr == 1e-2f);
    CHECK(optim::Adagrad::Options{}.eps == 1e-10f);

    const Tensor w = Tensor::zeros({2}, {.requires_grad = true});
    CHECK(error_of([&] { by_name("adam", {w}, 0.1f, "momentum=0.9"); }) ==
          "adam: unknown option 'momentum' (adam takes: lr, betas, eps, weight_decay, amsgrad)");
    CHECK(error_of([&] { by_name("adam", {w}, 0.1f, "betas=0.9"); }) ==
          "adam: option betas: expected two numbers, b1,b2, got '0.9'");
    CHECK(error_of([&] { by_name("rmsprop", {w}, 0.1f, "centered=maybe"); }) ==
          "rmsprop: option centered: expected true or false, got 'maybe'");
    CHECK(error_of([&] { by_name("adagrad", {w}, 0.1f, "eps=1e-6;eps=1e-7"); }) ==
          "adagrad: option 'eps' given twice ('1e-6' and '1e-7')");
    CHECK(error_of([&] { by_name("nesterov", {w}, 0.1f, "form=nag"); }) ==
          "nesterov: option form: expected pytorch, sutskever or lookahead, got 'nag'");
    CHECK(error_of([&] { by_name("adam", {w}, 0.1f, "lr=0.5"); }) ==
          "adam: set the learning rate with --lr, not as an option");
    CHECK(error_of([] { optim::split_option("amsgrad"); }) == "--opt: expected key=value, got 'amsgrad'");

    // Built through the registry, the options arrive: amsgrad adds its slot, momentum RMSprop's buffer.
    CHECK(by_name("adam", {w}, 0.1f, "amsgrad=true")->state_names() ==
          std::vector<std::string>{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"});
    CHECK(by_name("rmsprop", {w}, 0.1f, "momentum=0.9;centered=true")->state_names() ==
          std::vector<std::string>{"square_avg", "momentum_buffer", "grad_avg"});
    CHECK(by_name("rmsprop", {w}, 0.1f)->state_names() == std::vector<std::string>{"square_avg"});
    // What a run's header prints: only what the optimizer uses.
    CHECK(optim::optimizer_options_in_use("adam", {.lr = 1e-3f}) ==
          optim::OptionValues{{"betas", "0.9,0.999"}, {"eps", "1e-08"}});
    CHECK(optim::optimizer_options_in_use("adamw", {.lr = 1e-3f}) ==
          optim::OptionValues{{"betas", "0.9,0.999"}, {"eps", "1e-08"}, {"weight_decay", "0.01"}});
    CHECK(optim::optimizer_options_in_use("nesterov", {.lr = 0.1f, .form = "sutskever"}) ==
          optim::OptionValues{{"momentum", "0.9"}, {"form", "sutskever"}});
    CHECK(optim::optimizer_options_in_use("sgd", {.lr = 0.1f}).empty());
    const std::string help = optim::optimizers_help();
    CHECK(help.find("adam       lr=0.001 betas=0.9,0.999 eps=1e-08 weight_decay=0 amsgrad=false\n") !=
          std::string::npos);
  }

  TEST_CASE("named state: slots by name, per-parameter step counts, and a round trip that continues bitwise") {
    const ref::Problem& spec = ref::problems.back();
    for (const auto& name_options_ :
         std::vector<std::pair<std::string, std::string>>{{"adam", "amsgrad=true;weight_decay=0.01"},
                                                          {"adamw", ""},
                                                          {"rmsprop", "momentum=0.5;centered=true"},
                                                          {"adagrad", "lr_decay=0.1;initial_accumulator_value=0.2"}}) {
      const auto& name = std::get<0>(name_options_);
      const auto& options = std::get<1>(name_options_);
      CAPTURE(name);
      const Problem a = load(spec), b = load(spec);
      const auto opt_a = by_name(name, {a.w, a.b}, 0.01f, options);
      for (int i = 0; i < 5; ++i) train_step(*opt_a, a);
      const NamedTensors state = opt_a->state();
      CHECK(state.size() == 2 * opt_a->state_names().size() + (name == "rmsprop" ? 0 : 1));
      CHECK(opt_a->state(opt_a->state_names().front(), 1).shape() == a.b.shape());
      CHECK(!opt_a->state("no_such_slot", 0).defined());
      CHECK(opt_a->param_steps(0) == 5);
      {
        NoGradGuard no_grad;
        b.w.copy_(a.w);
        b.b.copy_(a.b);
      }
      const auto opt_b = by_name(name, {b.w, b.b}, 0.01f, options);
      opt_b->load_state(state, opt_a->steps());
      CHECK(opt_b->param_steps(1) == 5);
      for (int i = 0; i < 5; ++i) {
        train_step(*opt_a, a);
        train_step(*opt_b, b);
      }
      CHECK(params_of(a) == params_of(b));
    }
    // Adam counts each parameter's steps: one without a gradient does not advance.
    const Tensor used = Tensor::ones({2}, {.requires_grad = true}), unused = Tensor::ones({2}, {.requires_grad = true});
    optim::Adam adam({used, unused}, {});
    for (int i = 0; i < 3; ++i) {
      adam.zero_grad();
      sum(used * 2.f).backward();
      adam.step();
    }
    CHECK(adam.param_steps(0) == 3);
    CHECK(adam.param_steps(1) == 0);
    CHECK(!adam.state("exp_avg", 1).defined());
    CHECK(adam.direction_state_names() == std::vector<std::string>{"exp_avg"});
  }

  TEST_CASE("the new schedules: MultiStepLR, ExponentialLR, OneCycleLR by epoch, ReduceLROnPlateau's state") {
    const optim::MultiStepLR multi(0.1f, {2, 5}, 0.5f);
    CHECK(multi.lr(1.99) == doctest::Approx(0.1));
    CHECK(multi.lr(2) == doctest::Approx(0.05));
    CHECK(multi.lr(7) == doctest::Approx(0.025));
    CHECK(optim::ExponentialLR(0.1f, 0.5f).lr(2.5) == doctest::Approx(0.025));
    // OneCycleLR counts steps: epoch 1.5 of 4-step epochs is step 6.
    const optim::OneCycleLR one(0.1f, 4, 4, {});
    CHECK(one.lr(0) == doctest::Approx(0.004));
    CHECK(one.lr(1.5) == doctest::Approx(optim::OneCycleLR(0.1f, 16, 1, {}).lr(6)));
    CHECK(one.lr(1000) == doctest::Approx(0.1 / 25 / 1e4).epsilon(1e-4));
    optim::ReduceLROnPlateau plateau(1.f, {.factor = 0.5f, .patience = 1});
    for (double loss : {1.0, 1.0, 1.0}) plateau.observe(loss);
    CHECK(plateau.lr(0) == 0.5f);
    optim::ReduceLROnPlateau resumed(1.f, {.factor = 0.5f, .patience = 1});
    resumed.load_state(plateau.state());
    for (double loss : {1.0, 1.0}) plateau.observe(loss), resumed.observe(loss);
    CHECK(resumed.lr(0) == plateau.lr(0));
    CHECK(resumed.lr(0) == 0.25f);
    CHECK(error_of([] {
            optim::MultiStepLR(0.1f, {3, 2});
          }) == "MultiStepLR: milestones must be increasing epochs >= 1, got 2 at position 1");
    CHECK(error_of([] { optim::OneCycleLR(0.1f, 1, 2, {}); }) == "OneCycleLR: 2 steps are too few for pct_start 0.3");
    CHECK(error_of([] { optim::ConstantLR(0.1f).load_state({1.0}); }) ==
          "this lr schedule has no state, got 1 numbers");
  }

  TEST_CASE("every built-in adaptive optimizer passes the conformance kit") {
    const auto with = [](const std::string& name, const std::string& options) {
      return [name, options](std::vector<Tensor> p, float lr) { return by_name(name, std::move(p), lr, options); };
    };
    conformance::check_optimizer({.name = "adam",
                                  .make = with("adam", ""),
                                  .quadratic_lr = 0.05f,
                                  .rosenbrock_lr = 0.02f,
                                  .rosenbrock_steps = 5000});
    conformance::check_optimizer({.name = "adam/amsgrad",
                                  .make = with("adam", "amsgrad=true"),
                                  .quadratic_lr = 0.05f,
                                  .rosenbrock_lr = 0.02f,
                                  .rosenbrock_steps = 5000});
    conformance::check_optimizer({.name = "adamw",
                                  .make = with("adamw", "weight_decay=0"),
                                  .quadratic_lr = 0.05f,
                                  .rosenbrock_lr = 0.02f,
                                  .rosenbrock_steps = 5000});
    conformance::check_optimizer({.name = "rmsprop",
                                  .make = with("rmsprop", ""),
                                  .quadratic_lr = 0.01f,
                                  .quadratic_steps = 3000,
                                  .rosenbrock_lr = 1e-3f,
                                  .rosenbrock_steps = 20000});
    conformance::check_optimizer({.name = "rmsprop/centered+momentum",
                                  .make = with("rmsprop", "momentum=0.5;centered=true"),
                                  .quadratic_lr = 0.005f,
                                  .quadratic_steps = 3000,
                                  .rosenbrock_lr = 5e-4f,
                                  .rosenbrock_steps = 20000});
    conformance::check_optimizer({.name = "adagrad",
                                  .make = with("adagrad", ""),
                                  .quadratic_lr = 0.5f,
                                  .quadratic_steps = 2000,
                                  .rosenbrock_lr = 0.5f,
                                  .rosenbrock_steps = 20000});
  }
}
