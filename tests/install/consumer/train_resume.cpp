// A training run through run::Trainer, as an outside program writes it against the installed
// package: an MLP trained on MNIST (when MINIDL_MNIST_DIR names it) or on synthetic data, stopped
// by a SIGINT it sends itself in the middle of an epoch, resumed from the checkpoint the trainer
// saved, and checked bitwise against the same run left uninterrupted; the resumed run's summary
// (a run::Summary hook) then becomes its HTML report through report::write.
#include <minidl/minidl.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include <unistd.h>

using namespace minidl;

namespace {

// 512 points of 16 uniform features in 3 classes: the class is the index of the largest of the
// first 3 features (a rule an MLP learns in a few epochs).
std::unique_ptr<data::Dataset> synthetic() {
  Generator gen(7);
  std::vector<float> x(512 * 16);
  std::vector<int32_t> y(512);
  for (size_t i = 0; i < y.size(); ++i) {
    for (size_t j = 0; j < 16; ++j) x[i * 16 + j] = gen.uniform();
    const float* r = &x[i * 16];
    y[i] = r[0] >= r[1] && r[0] >= r[2] ? 0 : r[1] >= r[2] ? 1 : 2;
  }
  return std::make_unique<data::TensorDataset>(Tensor::from_vector(x, {512, 16}), Tensor::from_vector(y, {512}));
}

// Sends SIGINT to this process after `at` steps: the trainer stops before the next one and saves.
struct InterruptAt : run::Hook {
  int64_t at;
  explicit InterruptAt(int64_t step) : at(step) {}
  void on_step(const run::Trainer&, const run::StepReport& s) override {
    if (s.step == at) std::raise(SIGINT);
  }
};

struct Result {
  run::Outcome outcome;
  NamedTensors weights;
  std::string summary;  // run::Summary's JSON
};

// Three epochs of the same recipe; `interrupt_at` > 0 stops it there, `resume` continues a checkpoint.
Result train(const data::Dataset& data, int64_t features, int64_t classes, const std::string& save,
             int64_t interrupt_at, bool resume) {
  data::DataLoader loader(data, {.batch_size = 64, .shuffle = true, .seed = 1});
  Generator init(0);
  auto model = nn::mlp(features, {32}, classes, init);
  optim::Adam opt(model->parameters(), {.lr = 1e-3f});
  optim::CosineAnnealingLR schedule(1e-3f, 3);
  run::LoaderSource source(loader);
  run::Trainer trainer(*model, opt, source, {.epochs = 3, .save = save, .metadata = {{"note", "consumer"}}});
  trainer.set_schedule(schedule);
  InterruptAt stop(interrupt_at);
  if (interrupt_at > 0) trainer.add_hook(stop);
  run::Summary summary;
  trainer.add_hook(summary);
  trainer.set_evaluation([&] { return run::Metrics{{"train_accuracy", nn::evaluate(*model, loader).accuracy}}; });
  if (resume && trainer.resume(save).metadata.at("note") != "consumer") throw Error("metadata lost");
  const run::Outcome outcome = trainer.run();
  return {outcome, model->state_dict(), summary.json({{"config", R"j({"model": "mlp(32)", "optimizer": "adam"})j"}})};
}

}  // namespace

int main() {
  const char* mnist_dir = std::getenv("MINIDL_MNIST_DIR");
  std::unique_ptr<data::Dataset> data;
  int64_t features = 16, classes = 3;
  if (mnist_dir && std::filesystem::is_directory(mnist_dir))  // its test split: 10,000 images
    data = std::make_unique<data::MNIST>(mnist_dir, data::Split::test), features = 784, classes = 10;
  else
    data = synthetic();
  const std::string dir = std::filesystem::temp_directory_path() / ("consumer_run_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string ck = dir + "/run.safetensors";

  const Result whole = train(*data, features, classes, dir + "/whole.safetensors", 0, false);
  const int64_t batches = (data->size() + 63) / 64;
  const Result stopped = train(*data, features, classes, ck, batches + batches / 2, false);  // mid epoch 2
  const Result resumed = train(*data, features, classes, ck, 0, true);
  // The resumed run's HTML report, from its summary, as minidl report draws one.
  const std::string page = dir + "/resumed.html";
  const report::Written written = report::write(report::summary_from_text(resumed.summary, "the resumed run"), page);
  const bool reported = written.bytes > 1000 && std::filesystem::file_size(page) == written.bytes;
  std::filesystem::remove_all(dir);

  bool ok = whole.outcome.completed() && stopped.outcome.signal == SIGINT && stopped.outcome.exit_code() == 130 &&
            stopped.outcome.mid_epoch && stopped.outcome.epoch == 1 && resumed.outcome.completed();
  for (size_t i = 0; ok && i < whole.weights.size(); ++i) {
    const auto a = whole.weights[i].second.to_vector(), b = resumed.weights[i].second.to_vector();
    ok = a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
  }
  std::printf("consumer_train_resume: %s, stopped by SIGINT after %lld steps (epoch %lld), resumed: weights %s; "
              "report %zu bytes%s\n",
              mnist_dir ? "MNIST" : "synthetic data", static_cast<long long>(stopped.outcome.step),
              static_cast<long long>(stopped.outcome.epoch + 1), ok ? "bitwise equal" : "DIFFER", written.bytes,
              reported ? "" : " (WRONG)");
  return ok && reported ? 0 : 1;
}
