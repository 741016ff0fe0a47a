// run/: the Trainer by steps over a source without epochs (a language model's shape), stopped by
// SIGINT and resumed bitwise; its evaluation and checkpoint cadence; the metrics CSV; options and
// checkpoints it refuses. (Epochs mode through the installed package: tests/install/consumer/
// train_resume.cpp; through minidl train: tests/test_cli.cpp.)
#include <doctest/doctest.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <minidl/minidl.h>
#include "testing.h"

using namespace minidl;

namespace {

// Endless batches of 8 random 4-feature rows, the class the largest of the first two features: a
// fresh batch per call, drawn from the source's own generator (as random text windows are).
class RandomRows : public run::BatchSource {
 public:
  explicit RandomRows(uint64_t seed) : gen_(seed) {}
  int64_t batches_per_epoch() const override { return 0; }
  data::Batch batch(int64_t) override {
    std::vector<float> x(8 * 4);
    std::vector<int32_t> y(8);
    for (size_t i = 0; i < 8; ++i) {
      for (size_t j = 0; j < 4; ++j) x[i * 4 + j] = gen_.uniform();
      y[i] = x[i * 4] > x[i * 4 + 1] ? 0 : 1;
    }
    return {Tensor::from_vector(x, {8, 4}), Tensor::from_vector(y, {8})};
  }
  Generator& generator() override { return gen_; }

 private:
  Generator gen_;
};

struct Recorder : run::Hook {
  int64_t stop_at = 0;
  std::vector<int64_t> evaluations, checkpoints;
  std::vector<double> train_losses;
  void on_step(const run::Trainer&, const run::StepReport& s) override {
    if (s.step == stop_at) std::raise(SIGINT);
  }
  void on_evaluation(const run::Trainer&, const run::EvalReport& e) override {
    evaluations.push_back(e.step);
    train_losses.push_back(e.train_loss);
  }
  void on_checkpoint(const run::Trainer& t, const std::string&) override { checkpoints.push_back(t.step()); }
};

struct Setup {
  RandomRows source{5};
  Generator init{3};
  std::shared_ptr<nn::Sequential> model = nn::mlp(4, {8}, 2, init);
  optim::AdamW opt{model->parameters(), {.lr = 1e-2f}};
  optim::CosineAnnealingLR schedule{1e-2f, 30};  // in steps mode the schedule's time is the step
  Recorder recorder;
  run::Trainer trainer;
  explicit Setup(run::TrainerOptions options) : trainer(*model, opt, source, std::move(options)) {
    trainer.set_schedule(schedule);
    trainer.set_evaluation([] { return run::Metrics{{"val_loss", 1.5}}; });
    trainer.add_hook(recorder);
  }
};

std::string temp_path(const char* name) {
  return (std::filesystem::temp_directory_path() / (std::string("minidl_test_run_") + name)).string();
}

}  // namespace

TEST_SUITE("run") {
  TEST_CASE("steps mode: SIGINT mid-run saves, resume ends bitwise where the uninterrupted run ends") {
    const std::string ck = temp_path("steps.safetensors"), csv = temp_path("steps.csv");
    const run::TrainerOptions options{.steps = 30, .eval_every = 10, .save_every = 15, .save = ck,
                                      .clip_grad_norm = 1.0, .metadata = {{"vocab", "abc"}}};
    Setup whole(options);
    run::MetricsLog metrics(csv, {"val_loss"}, {.log_every = 5});
    whole.trainer.add_hook(metrics);
    run::Summary summary;
    whole.trainer.add_hook(summary);
    CHECK(whole.trainer.run().completed());
    const std::string json = summary.json({{"config", "{\"layers\":1}"}});
    CHECK(json.find("\"steps\": 30") != std::string::npos);
    CHECK(json.find("\"val_loss\": 1.5") != std::string::npos);
    CHECK(json.find("\"layers\": 1") != std::string::npos);
    CHECK(summary.evaluations().size() == 3);
    CHECK(summary.train_seconds() >= 0);
    CHECK_THROWS_WITH_AS(summary.json({{"config", "{"}}), doctest::Contains("'config' is not JSON"), Error);
    CHECK(whole.recorder.evaluations == std::vector<int64_t>{10, 20, 30});
    CHECK(whole.recorder.checkpoints == std::vector<int64_t>{15, 30});
    for (double loss : whole.recorder.train_losses) CHECK(std::isfinite(loss));
    std::ifstream in(csv);
    std::stringstream text;
    text << in.rdbuf();
    CHECK(text.str().starts_with("kind,epoch,step,lr,train_loss,val_loss,seconds\n"));
    CHECK(text.str().find("\neval,0,30,") != std::string::npos);

    Setup stopped(options);
    stopped.recorder.stop_at = 12;
    const run::Outcome o = stopped.trainer.run();
    CHECK(o.signal == SIGINT);
    CHECK(o.exit_code() == 130);
    CHECK(o.step == 12);
    CHECK(o.checkpoint == ck);

    Setup resumed(options);
    const run::Checkpoint saved = resumed.trainer.resume(ck);
    CHECK(saved.metadata.at("vocab") == "abc");
    CHECK(saved.state.optimizer_steps == 12);
    CHECK(resumed.trainer.run().completed());
    CHECK(resumed.recorder.evaluations == std::vector<int64_t>{20, 30});
    const NamedTensors a = whole.model->state_dict(), b = resumed.model->state_dict();
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      const auto x = a[i].second.to_vector(), y = b[i].second.to_vector();
      CHECK(std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0);
    }
    std::filesystem::remove(ck);
    std::filesystem::remove(csv);
  }

  TEST_CASE("options and checkpoints the trainer refuses, naming what is wrong") {
    RandomRows source(1);
    Generator init(0);
    auto model = nn::mlp(4, {8}, 2, init);
    optim::SGD sgd(model->parameters(), {.lr = 0.1f});
    CHECK_THROWS_WITH_AS(run::Trainer(*model, sgd, source, {}), doctest::Contains("give epochs or steps"), Error);
    CHECK_THROWS_WITH_AS(run::Trainer(*model, sgd, source, {.epochs = 2}),
                         doctest::Contains("a source without epochs needs steps"), Error);
    CHECK_THROWS_WITH_AS(run::Trainer(*model, sgd, source, {.steps = 2, .clip_grad_norm = -1}),
                         doctest::Contains("clip_grad_norm"), Error);
    run::Trainer trainer(*model, sgd, source, {.steps = 2});
    CHECK_THROWS_WITH_AS(trainer.track_generator("noise", init), doctest::Contains("must end in '_rng'"), Error);
    // A checkpoint of another optimizer's run.
    const std::string ck = temp_path("adam.safetensors");
    optim::Adam adam(model->parameters(), {});
    run::save_checkpoint(ck, *model, adam, {});
    CHECK_THROWS_WITH_AS(trainer.resume(ck), doctest::Contains("optimizer 'adam' does not match"), Error);
    std::filesystem::remove(ck);
  }

  TEST_CASE("a custom loss: the trainer steps a model that is not a classifier") {
    RandomRows source(2);
    Generator init(0);
    auto model = nn::mlp(4, {8}, 1, init);
    optim::SGD sgd(model->parameters(), {.lr = 0.05f});
    // Regression of the class index as a number: mean squared error on (B, 1) outputs.
    run::Trainer trainer(*model, sgd, source,
                         {.steps = 40, .loss = [](const Tensor& out, const Tensor& target) {
                            return nn::functional::mse_loss(out, Tensor::from_vector(target.to_vector(), out.shape()));
                          }});
    Recorder recorder;
    trainer.add_hook(recorder);
    CHECK(trainer.run().completed());
    REQUIRE(recorder.train_losses.size() == 1);  // without eval_every: one evaluation, after the last step
    CHECK(std::isfinite(recorder.train_losses[0]));
    CHECK(trainer.step() == 40);
  }
}
