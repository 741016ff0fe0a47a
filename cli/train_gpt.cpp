// minidl train --model gpt: the flags made into a run::Trainer in steps mode (run/trainer.h) over
// random windows of a text corpus (TextSource below, data::TextDataset), with nanoGPT's recipe as
// the reference defines it (../shared/bench/pytorch_char_gpt.py): AdamW over GPT::optimizer_groups
// (decay on 2-D weights only), warm-up then cosine (optim::WarmupCosineLR), gradients clipped to 1.
// Each step is nn::train_step: lr set, forward, GPT::loss, backward, clip, update — the order
// tests/test_lm.cpp's 20-step check against PyTorch takes. Evaluations draw their windows from the
// same generator as training batches (as the reference's torch.randint does), so a checkpoint's
// generator state continues both bitwise. With --summary or --report the run also records a sample
// at each evaluation and, at its end, the attention maps of one validation window (report/language_model.h
// has the layout), from generators of their own.
#include "cli/train_gpt.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/config.h"
#include "cli/flags.h"
#include "cli/report.h"
#include "cli/run_record.h"
#include "core/backend.h"
#include "core/grad_mode.h"
#include "data/atomic_file.h"
#include "data/file_bytes.h"
#include "data/safetensors.h"
#include "data/text_dataset.h"
#include "nn/gpt.h"
#include "optim/adamw.h"
#include "optim/lr_scheduler.h"
#include "report/language_model.h"
#include "run/interrupt.h"
#include "run/metrics_log.h"
#include "run/summary.h"
#include "run/telemetry.h"
#include "run/trainer.h"

namespace minidl::cli {

namespace {

template <class T>
T strict_number(const std::string& text, const std::string& what) {
  std::istringstream in(text);
  T value{};
  if (text.empty() || !(in >> value) || !in.eof()) throw UsageError(str_cat(what, ": '", text, "' is not a number"));
  return value;
}

// "k=v,k=v" → pairs, each key once.
std::vector<std::pair<std::string, std::string>> key_values(const std::string& text, const std::string& what) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& item : split_list(text)) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos) throw UsageError(str_cat(what, ": '", item, "' is not key=value"));
    for (const auto& [k, v] : out)
      if (k == item.substr(0, eq)) throw UsageError(str_cat(what, ": '", k, "' is given twice"));
    out.emplace_back(item.substr(0, eq), item.substr(eq + 1));
  }
  return out;
}

}  // namespace

// "gpt" or "gpt(layers=4,heads=4,embd=128,block=64,dropout=0.1)": the reference's defaults for
// what it leaves out; vocab comes from the data.
nn::GPTConfig parse_gpt_model(const std::string& spec) {
  nn::GPTConfig c;
  std::string args;
  if (spec != "gpt") {
    if (!spec.starts_with("gpt(") || !spec.ends_with(")"))
      throw UsageError(str_cat("--model: '", spec, "' is not gpt or gpt(layers=…,heads=…,embd=…,block=…,dropout=…)"));
    args = spec.substr(4, spec.size() - 5);
  }
  for (const auto& [k, v] : key_values(args, "--model " + spec)) {
    const std::string what = "--model " + k;
    if (k == "layers")
      c.layers = strict_number<int64_t>(v, what);
    else if (k == "heads")
      c.heads = strict_number<int64_t>(v, what);
    else if (k == "embd")
      c.embd = strict_number<int64_t>(v, what);
    else if (k == "block")
      c.block = strict_number<int64_t>(v, what);
    else if (k == "dropout")
      c.dropout = strict_number<float>(v, what);
    else
      throw UsageError(str_cat("--model: unknown gpt setting '", k, "' (known: layers, heads, embd, block, dropout)"));
  }
  c.vocab = 1;  // checked again with the data's
  try {
    c.validate();
  } catch (const Error& e) {
    throw UsageError(str_cat("--model ", spec, ": ", e.what()));
  }
  return c;
}

std::string GptSettings::str() const {
  return str_cat("model=", model, ";data=", data, ";steps=", steps, ";eval_every=", eval_every,
                 ";eval_batches=", eval_batches, ";batch_size=", batch_size, ";warmup=", warmup,
                 ";lr=", optim::format_option(lr), ";min_lr=", optim::format_option(min_lr),
                 ";weight_decay=", optim::format_option(weight_decay), ";clip_grad_norm=", clip_grad_norm,
                 ";schedule=", schedule, ";seed=", seed);
}

GptSettings GptSettings::parse(const std::string& text, const std::string& what) {
  GptSettings s;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, ';')) {
    const size_t eq = item.find('=');
    const std::string k = item.substr(0, eq), v = eq == std::string::npos ? "" : item.substr(eq + 1);
    const std::string name = what + " " + k;
    if (k == "model")
      s.model = v;
    else if (k == "data")
      s.data = v;
    else if (k == "steps")
      s.steps = strict_number<int64_t>(v, name);
    else if (k == "eval_every")
      s.eval_every = strict_number<int64_t>(v, name);
    else if (k == "eval_batches")
      s.eval_batches = strict_number<int64_t>(v, name);
    else if (k == "batch_size")
      s.batch_size = strict_number<int64_t>(v, name);
    else if (k == "warmup")
      s.warmup = strict_number<int64_t>(v, name);
    else if (k == "lr")
      s.lr = strict_number<float>(v, name);
    else if (k == "min_lr")
      s.min_lr = strict_number<float>(v, name);
    else if (k == "weight_decay")
      s.weight_decay = strict_number<float>(v, name);
    else if (k == "clip_grad_norm")
      s.clip_grad_norm = strict_number<double>(v, name);
    else if (k == "schedule")
      s.schedule = v;
    else if (k == "seed")
      s.seed = strict_number<uint64_t>(v, name);
    else
      throw UsageError(str_cat(what, ": unknown setting '", k, "'"));
  }
  return s;
}

bool wants_gpt(const TrainArgs& args) {
  return args.config.model.starts_with("gpt") || args.data_dir.starts_with("text:");
}

bool resumes_gpt(const std::string& path) {
  if (path.empty()) return false;
  try {
    return data::load_safetensors(path).metadata.contains("gpt.run");
  } catch (const Error&) {
    return false;  // the classifiers' resume says what is wrong with it
  }
}

bool is_gpt_checkpoint(const std::string& path) {
  try {
    return data::load_safetensors(path).metadata.contains("gpt.config");
  } catch (const Error&) {
    return false;  // the caller's own loading says what is wrong with it
  }
}

std::string text_path(const std::string& data) {
  if (data.empty()) return kDefaultText;
  if (!data.starts_with("text:") || data.size() == 5)
    throw UsageError(str_cat("--data '", data,
                             "': --model gpt reads a text corpus, --data text:PATH (default text:", kDefaultText, ")"));
  return data.substr(5);
}

namespace {

// The run's settings: the flags over the reference's defaults, or the resumed checkpoint's.
GptSettings settings_from(const TrainArgs& args, const GptFlags& flags, const run::Checkpoint* resumed) {
  GptSettings s;
  const auto given = [&](const char* name) {
    return std::find(args.run_flags_given.begin(), args.run_flags_given.end(), name) != args.run_flags_given.end();
  };
  if (resumed) {
    if (!args.run_flags_given.empty() || flags.eval_every_given || flags.eval_batches_given)
      throw UsageError(
          "--" +
          (args.run_flags_given.empty() ? std::string("eval-every/--eval-batches") : args.run_flags_given.front()) +
          " cannot be combined with --resume: a resumed run keeps its checkpoint's settings");
    const auto it = resumed->metadata.find("gpt.run");
    if (it == resumed->metadata.end())
      throw UsageError(
          str_cat("--resume ", args.resume, ": not a checkpoint of minidl train --model gpt (no gpt.run)"));
    s = GptSettings::parse(it->second, "--resume " + args.resume);
  } else {
    s.model = args.config.model.empty() || !args.config.model.starts_with("gpt") ? "gpt" : args.config.model;
    if (given("model") && !args.config.model.starts_with("gpt"))
      throw UsageError(str_cat("--model ", args.config.model, " is an image classifier; --data ", args.data_dir,
                               " is a text corpus: use --model gpt (or MNIST data)"));
    s.data = text_path(args.data_dir);
    if (given("lr")) s.lr = args.config.lr;
    if (given("weight-decay")) s.weight_decay = args.config.weight_decay;
    if (given("batch-size")) s.batch_size = args.config.batch_size;
    if (given("clip-grad-norm")) s.clip_grad_norm = args.config.clip_grad_norm;
    if (given("seed")) s.seed = args.config.seed;
    if (given("schedule")) s.schedule = args.config.schedule;
    if (flags.eval_every_given) s.eval_every = flags.eval_every;
    if (flags.eval_batches_given) s.eval_batches = flags.eval_batches;
  }
  if (flags.steps_given) s.steps = flags.steps;
  return s;
}

void validate(const GptSettings& s, const TrainArgs& args) {
  const auto require = [](bool ok, auto&&... parts) {
    if (!ok) throw UsageError(str_cat(parts...));
  };
  require(s.steps >= 1, "--steps must be >= 1, got ", s.steps);
  require(s.eval_every >= 1, "--eval-every must be >= 1, got ", s.eval_every);
  require(s.eval_batches >= 1, "--eval-batches must be >= 1, got ", s.eval_batches);
  require(s.batch_size >= 1, "--batch-size must be >= 1, got ", s.batch_size);
  require(std::isfinite(s.lr) && s.lr > 0, "--lr must be > 0, got ", s.lr);
  require(std::isfinite(s.weight_decay) && s.weight_decay >= 0, "--weight-decay must be >= 0, got ", s.weight_decay);
  require(std::isfinite(s.clip_grad_norm) && s.clip_grad_norm >= 0, "--clip-grad-norm must be > 0 (or 0: off), got ",
          s.clip_grad_norm);
  require(s.schedule == "warmup-cosine" || s.schedule == "none",
          "--schedule with --model gpt must be warmup-cosine (the default) or none, got '", s.schedule, "'");
  require(!args.save_given || !args.save.empty(), "--save needs a path");
  std::vector<data::NamedFile> outputs;
  for (const data::NamedFile& f : {data::NamedFile{"--save", run::checkpoint_path(args.save, 0, s.steps)},
                                   {"--summary", args.summary},
                                   {"--report", args.report},
                                   {"--metrics", args.metrics},
                                   {"--telemetry", args.telemetry}})
    if (!f.path.empty()) outputs.push_back(f);
  for (const data::NamedFile& f : outputs) data::check_output_target(f.path, f.flag.c_str());
  data::check_distinct_outputs(outputs);
}

// Random windows of the training split, endless (a source without epochs): the trainer counts steps.
class TextSource : public run::BatchSource {
 public:
  TextSource(const data::TextDataset& text, int64_t batch, int64_t block, uint64_t seed)
      : text_(text), batch_(batch), block_(block), gen_(seed) {}
  int64_t batches_per_epoch() const override { return 0; }
  data::Batch batch(int64_t) override {
    auto [x, y] = text_.batch(data::TextSplit::train, batch_, block_, gen_);
    return {std::move(x), std::move(y)};
  }
  Generator& generator() override { return gen_; }

 private:
  const data::TextDataset& text_;
  int64_t batch_, block_;
  Generator gen_;
};

}  // namespace

data::TextDataset load_text(const std::string& path, int64_t block) {
  try {
    data::TextDataset text(path);
    text.check_block(block);
    return text;
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    std::string hint;
    if (path == kDefaultText && !std::filesystem::exists(path)) hint = " (run scripts/fetch-text to fetch it)";
    throw UsageError(str_cat("--data text:", path, ": ", e.what(), hint));
  }
}

namespace {

// Everything a GPT run needs, built and checked before its first step.
struct GptRun {
  GptRun(const TrainArgs& args, const GptFlags& flags);
  std::unique_ptr<run::Checkpoint> resumed;
  GptSettings settings;
  nn::GPTConfig config;
  data::TextDataset text;
  Generator init, noise;
  nn::GPT model;
  std::unique_ptr<optim::AdamW> optimizer;
  std::unique_ptr<optim::LRSchedule> schedule;
  TextSource source;
  run::Trainer trainer;
};

std::unique_ptr<run::Checkpoint> read_resumed(const TrainArgs& args) {
  if (args.resume.empty()) return nullptr;
  try {
    return std::make_unique<run::Checkpoint>(run::load_checkpoint(args.resume));
  } catch (const Error& e) {
    throw UsageError(str_cat("--resume: ", e.what()));
  }
}

GptSettings checked_settings(const TrainArgs& args, const GptFlags& flags, const run::Checkpoint* resumed) {
  GptSettings s = settings_from(args, flags, resumed);
  validate(s, args);
  apply_threads_flag(args.threads);
  return s;
}

nn::GPTConfig model_config(const GptSettings& s, const run::Checkpoint* resumed) {
  if (!resumed) return parse_gpt_model(s.model);
  const auto it = resumed->metadata.find("gpt.config");
  if (it == resumed->metadata.end()) throw UsageError("--resume: the checkpoint records no gpt.config");
  return nn::GPTConfig::parse(it->second, "--resume");
}

nn::GPTConfig with_vocab(nn::GPTConfig c, const data::TextDataset& text, const std::string& resume) {
  if (!resume.empty() && c.vocab != text.vocab_size())
    throw UsageError(
        str_cat("--resume ", resume, ": its vocabulary has ", c.vocab, " bytes, the corpus ", text.vocab_size()));
  c.vocab = text.vocab_size();
  return c;
}

}  // namespace

std::unique_ptr<optim::LRSchedule> make_gpt_schedule(const GptSettings& s) {
  if (s.schedule == "none") return std::make_unique<optim::ConstantLR>(s.lr);
  return std::make_unique<optim::WarmupCosineLR>(s.lr, s.warmup, s.steps, s.min_lr);
}

std::unique_ptr<optim::AdamW> make_gpt_optimizer(const nn::GPT& model, const GptSettings& s) {
  return optim::make_grouped<optim::AdamW>(model.optimizer_groups(s.weight_decay),
                                           {.lr = s.lr, .betas = {0.9f, 0.99f}, .eps = 1e-8f});
}

namespace {

run::TrainerOptions gpt_trainer_options(const TrainArgs& args, const GptRun& r) {
  run::Metadata metadata = nn::gpt_checkpoint_metadata(r.model, r.text.vocabulary());
  metadata["gpt.run"] = r.settings.str();
  return {.steps = r.settings.steps,
          .eval_every = r.settings.eval_every,
          .save_every = r.settings.eval_every,
          .save = args.save,
          .clip_grad_norm = r.settings.clip_grad_norm,
          .loss = [](const Tensor& logits, const Tensor& targets) { return nn::GPT::loss(logits, targets); },
          .divergence_advice = str_cat("; try a smaller --lr (now ", optim::format_option(r.settings.lr), ")"),
          .metadata = std::move(metadata)};
}

GptRun::GptRun(const TrainArgs& args, const GptFlags& flags)
    : resumed(read_resumed(args)),
      settings(checked_settings(args, flags, resumed.get())),
      config(model_config(settings, resumed.get())),
      text(load_text(args.data_dir.empty() || resumed == nullptr ? settings.data : text_path(args.data_dir),
                     config.block)),
      init(settings.seed),
      noise(settings.seed + 2),
      model(with_vocab(config, text, args.resume), init),
      optimizer(make_gpt_optimizer(model, settings)),
      schedule(make_gpt_schedule(settings)),
      source(text, settings.batch_size, config.block, settings.seed + 1),
      trainer(model, *optimizer, source, gpt_trainer_options(args, *this)) {
  trainer.set_schedule(*schedule);
  if (config.dropout > 0) {
    model.set_dropout_generator(noise);
    trainer.track_generator("noise_rng", noise);
  }
  if (resumed) trainer.resume(*resumed, args.resume);
}

// The mean loss of `batches` random windows of `split`, drawn from the source's generator.
double mean_loss(GptRun& r, data::TextSplit split) {
  NoGradGuard no_grad;
  double sum = 0;
  for (int64_t i = 0; i < r.settings.eval_batches; ++i) {
    auto [x, y] = r.text.batch(split, r.settings.batch_size, r.config.block, r.source.generator());
    sum += nn::GPT::loss(r.model(x), y).item();
  }
  return sum / static_cast<double>(r.settings.eval_batches);
}

// ---- what a run records for its report beyond the losses: a sample at each evaluation and, at the
// end, the attention maps of one validation window. Both run in evaluation mode without recording
// and draw from their own generator, so the training's generators (batches, dropout) are untouched
// and a resumed run continues bitwise.

constexpr int64_t kSampleBytes = 200;     // per evaluation
constexpr size_t kMaxKeptSamples = 32;    // beyond: every other one is dropped (the last one kept)
constexpr int64_t kAttentionWindow = 32;  // bytes: the validation split's first 32 (or block, if less)
constexpr auto kMaxAttentionMaps =
    static_cast<int64_t>(report::kMaxAttentionMaps);  // layers × heads, as a report reads

nlohmann::json byte_array(std::string_view bytes) {
  nlohmann::json out = nlohmann::json::array();
  for (char c : bytes) out.push_back(static_cast<int>(static_cast<unsigned char>(c)));
  return out;
}

// A newline starts every sample (the corpus's first byte when it has no newline).
std::vector<int32_t> sample_prompt(const data::TextDataset& text) {
  const std::vector<uint8_t>& v = text.vocabulary();
  const auto newline = std::find(v.begin(), v.end(), uint8_t{'\n'});
  return {static_cast<int32_t>(newline == v.end() ? 0 : newline - v.begin())};
}

// The same seed at every evaluation: samples differ only by the weights.
uint64_t sample_seed(const GptSettings& s) { return s.seed + 4; }

std::string sample_bytes(GptRun& r) {
  Generator gen(sample_seed(r.settings));
  return r.text.decode(r.model.generate(sample_prompt(r.text), kSampleBytes, {.temperature = 1.f}, gen));
}

// Probabilities rounded to 4 decimals (they are drawn as shades): a bounded summary.
nlohmann::json rounded(const std::vector<float>& p, size_t first, size_t n) {
  nlohmann::json row = nlohmann::json::array();
  for (size_t j = first; j < first + n; ++j) row.push_back(std::round(static_cast<double>(p[j]) * 1e4) / 1e4);
  return row;
}

nlohmann::json attention_record(GptRun& r) {
  const nn::GPTConfig& c = r.model.config();
  const std::vector<int32_t> ids = r.text.head(data::TextSplit::val, std::min(c.block, kAttentionWindow));
  const auto t = static_cast<int64_t>(ids.size());
  const int64_t heads = std::min(c.heads, kMaxAttentionMaps), layers = std::min(c.layers, kMaxAttentionMaps / heads);
  const Device device = r.model.wte->weight.device();
  const std::vector<float> p =
      r.model.attention_maps(Tensor::from_vector(ids, {1, t}).to(device)).to(Device::cpu()).to_vector();
  nlohmann::json maps = nlohmann::json::array();
  for (int64_t l = 0; l < layers; ++l) {
    nlohmann::json layer = nlohmann::json::array();
    for (int64_t h = 0; h < heads; ++h) {
      nlohmann::json head = nlohmann::json::array();
      for (int64_t i = 0; i < t; ++i)
        head.push_back(rounded(p, static_cast<size_t>(((l * c.heads + h) * t + i) * t), static_cast<size_t>(t)));
      layer.push_back(std::move(head));
    }
    maps.push_back(std::move(layer));
  }
  return {{"step", r.trainer.step()}, {"layers", layers},       {"heads", heads},
          {"model_layers", c.layers}, {"model_heads", c.heads}, {"window", byte_array(r.text.decode(ids))},
          {"maps", std::move(maps)}};
}

// "text data/text/fortunes.txt (2576674 bytes, vocabulary 114), model …": the run's first line
// (streamed numbers: the clipping norm prints as %g would).
std::string header_line(const GptRun& r, int64_t params) {
  const GptSettings& s = r.settings;
  return str_cat("text ", r.text.name(), " (", r.text.size(), " bytes, vocabulary ", r.text.vocab_size(), "), model ",
                 r.model.config().str(), " (", params, " parameters), AdamW lr ", optim::format_option(s.lr),
                 " weight_decay ", optim::format_option(s.weight_decay), " (2-D weights), ", s.schedule,
                 " schedule, clip ", s.clip_grad_norm, ", batch ", s.batch_size, ", ", s.steps, " steps, seed ", s.seed,
                 ", ", num_threads(), " thread", num_threads() == 1 ? "" : "s");
}

// The lines a run prints, its step times, and the summary JSON.
class GptLog : public run::Hook {
 public:
  GptLog(const TrainArgs& args, GptRun& r)
      : args_(args), r_(r), records_(!args.summary.empty() || !args.report.empty()) {}
  void on_step_begin(const run::Trainer&) override { t0_ = std::chrono::steady_clock::now(); }
  void on_step(const run::Trainer&, const run::StepReport& step) override {
    step_s_.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count());
    if (step_loss_.empty()) first_step_ = step.step;
    step_loss_.push_back(static_cast<float>(step.loss));
    step_lr_.push_back(static_cast<float>(step.lr));
  }
  void on_evaluation(const run::Trainer&, const run::EvalReport& e) override {
    const double train = e.metric("eval_train_loss"), val = e.metric("val_loss");
    evals_.push_back({{"step", e.step}, {"train_loss", train}, {"val_loss", val}});
    if (records_) record_sample(e.step);
    if (!args_.quiet)
      std::printf("step %lld: train loss %.4f, val loss %.4f, lr %.3g, %.1f ms/step\n", static_cast<long long>(e.step),
                  train, val, e.lr, 1e3 * median(step_s_, 0));
    std::fflush(stdout);
  }
  void on_stop(const run::Trainer&, const run::Outcome& o) override {
    std::printf("interrupted (%s) after %lld steps; %s\n", run::signal_name(o.signal), static_cast<long long>(o.step),
                o.checkpoint.empty() ? "nothing saved (no --save)"
                                     : ("checkpoint written to " + o.checkpoint +
                                        "; continue with: minidl train --resume " + o.checkpoint)
                                           .c_str());
    std::fflush(stdout);
  }
  static double median(std::vector<double> v, size_t skip) {
    if (v.size() <= skip) skip = 0;
    v.erase(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(skip));
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  }
  /// The summary (with the attention maps of the weights now), written where --summary and --report say.
  void finish(int64_t params);

 private:
  void record_sample(int64_t step);
  nlohmann::json summary(int64_t params) const;

  const TrainArgs& args_;
  GptRun& r_;
  const bool records_;  // samples and attention maps, for a summary or a report
  std::chrono::steady_clock::time_point t0_;
  std::vector<double> step_s_;
  int64_t first_step_ = 1;
  std::vector<float> step_loss_, step_lr_;
  nlohmann::json evals_ = nlohmann::json::array(), samples_ = nlohmann::json::array();
  int64_t evals_seen_ = 0, sample_every_ = 1;
  std::string started_ = local_time_now();
};

// Every sample_every_-th evaluation's sample and the last one's; past kMaxKeptSamples every other
// one is dropped and the stride doubles, so a long run keeps samples spread over all of it.
void GptLog::record_sample(int64_t step) {
  const bool last = step == r_.settings.steps;
  if (evals_seen_++ % sample_every_ != 0 && !last) return;
  samples_.push_back({{"step", step}, {"bytes", byte_array(sample_bytes(r_))}});
  if (samples_.size() <= kMaxKeptSamples) return;
  // 33 samples: the even-numbered ones stay, the newest (number 32) among them.
  nlohmann::json kept = nlohmann::json::array();
  for (size_t i = 0; i < samples_.size(); i += 2) kept.push_back(std::move(samples_[i]));
  samples_ = std::move(kept);
  sample_every_ *= 2;
}

nlohmann::json GptLog::summary(int64_t params) const {
  double train_seconds = 0;
  for (double s : step_s_) train_seconds += s;
  nlohmann::json j = {{"model", "gpt"},
                      {"config", r_.model.config().str()},
                      {"settings", r_.settings.str()},
                      {"parameters", params},
                      {"steps", r_.trainer.step()},
                      {"train_seconds", train_seconds},
                      {"val_loss", evals_.back()["val_loss"]},
                      {"evals", evals_},
                      {"step_ms_median", 1e3 * median(step_s_, 10)},
                      {"blas_core", blas_core()},
                      {"gemm", gemm_library()},
                      {"threads", num_threads()},
                      {"peak_rss_mib", run::peak_rss_mib()},
                      {"first_step", first_step_},
                      {"step_loss", step_loss_},
                      {"step_lr", step_lr_}};
  j.update({{"command", command_line()},
            {"started", started_},
            {"description", header_line(r_, params)},
            {"samples", samples_},
            {"sample_prompt", byte_array(r_.text.decode(sample_prompt(r_.text)))},
            {"sample_seed", sample_seed(r_.settings)},
            {"sample_temperature", 1}});
  return j;
}

void GptLog::finish(int64_t params) {
  if (!records_) return;
  nlohmann::json j = summary(params);
  j["attention"] = attention_record(r_);
  // One line per entry, each value compact (the losses, the maps): a summary a person can still scroll.
  std::string text = "{";
  for (auto it = j.begin(); it != j.end(); ++it)
    text += (it == j.begin() ? "\n  " : ",\n  ") + nlohmann::json(it.key()).dump() + ": " + it.value().dump();
  text += "\n}\n";
  if (!args_.summary.empty()) data::write_text_atomically(args_.summary, text, "--summary");
  if (!args_.report.empty()) write_gpt_report(text, args_.summary, args_.report, args_.quiet);
}

}  // namespace

int run_train_gpt(const TrainArgs& args, const GptFlags& flags) {
  GptRun r(args, flags);  // every flag, the corpus and the checkpoint checked before the first step
  int64_t params = 0;
  for (const Tensor& p : r.model.parameters()) params += p.numel();
  if (!args.quiet) std::printf("%s\n", header_line(r, params).c_str());
  GptLog log(args, r);
  std::unique_ptr<run::MetricsLog> metrics;
  if (!args.metrics.empty())
    metrics = std::make_unique<run::MetricsLog>(
        args.metrics, std::vector<std::string>{"eval_train_loss", "val_loss"},
        run::MetricsLog::Options{.log_every = args.log_every,
                                 .append = !args.resume.empty() && std::filesystem::exists(args.metrics)});
  std::unique_ptr<run::Telemetry> telemetry;
  if (!args.telemetry.empty())
    telemetry = std::make_unique<run::Telemetry>(args.telemetry, *r.optimizer, r.model.named_parameters());
  for (run::Hook* h : std::initializer_list<run::Hook*>{&log, metrics.get(), telemetry.get()})
    if (h) r.trainer.add_hook(*h);
  r.trainer.set_evaluation([&r] {
    const double train = mean_loss(r, data::TextSplit::train);
    return run::Metrics{{"eval_train_loss", train}, {"val_loss", mean_loss(r, data::TextSplit::val)}};
  });
  const run::Outcome outcome = r.trainer.run();
  if (!outcome.completed()) return outcome.exit_code();
  log.finish(params);
  if (!args.quiet && !outcome.checkpoint.empty()) std::printf("checkpoint: %s\n", outcome.checkpoint.c_str());
  return 0;
}

int run_eval_gpt(const std::string& checkpoint, const std::string& data, int threads) {
  nn::LoadedGPT g;
  try {
    g = nn::load_gpt(checkpoint);
  } catch (const Error& e) {
    throw UsageError(str_cat("--checkpoint: ", e.what()));
  }
  const nn::GPTConfig& c = g.model->config();
  const data::TextDataset text = load_text(text_path(data), c.block);
  if (text.vocabulary() != g.vocabulary)
    throw UsageError(str_cat("--data text:", text.name(), ": its vocabulary (", text.vocab_size(),
                             " bytes) is not the checkpoint's (", g.vocabulary.size(), " bytes)"));
  apply_threads_flag(threads);
  // Every whole window of block + 1 bytes of the validation split, side by side (stride block):
  // the mean per-byte cross-entropy, in nats and in bits.
  NoGradGuard no_grad;
  g.model->eval();
  const int64_t n = text.split_size(data::TextSplit::val), windows = (n - 1) / c.block;
  const std::vector<uint8_t> bytes = data::read_file(text.name(), "minidl eval");
  const size_t first = static_cast<size_t>(text.split_size(data::TextSplit::train));
  const std::vector<int32_t> val =
      text.encode(std::string_view(reinterpret_cast<const char*>(bytes.data()) + first, bytes.size() - first));
  double sum = 0;
  for (int64_t w0 = 0; w0 < windows; w0 += 32) {
    const int64_t b = std::min<int64_t>(32, windows - w0);
    std::vector<int32_t> x, y;
    for (int64_t w = w0; w < w0 + b; ++w) {
      x.insert(x.end(), val.begin() + w * c.block, val.begin() + (w + 1) * c.block);
      y.insert(y.end(), val.begin() + w * c.block + 1, val.begin() + (w + 1) * c.block + 1);
    }
    sum += static_cast<double>(b) *
           nn::GPT::loss((*g.model)(Tensor::from_vector(x, {b, c.block})), Tensor::from_vector(y, {b, c.block})).item();
  }
  const double loss = sum / static_cast<double>(windows);
  std::printf("validation loss %.4f nats per byte, %.4f bits per byte (%lld windows of %lld bytes of %s)\n", loss,
              loss / std::log(2.0), static_cast<long long>(windows), static_cast<long long>(c.block),
              text.name().c_str());
  return 0;
}

}  // namespace minidl::cli
