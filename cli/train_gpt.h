// minidl train --model gpt: a character-level GPT (nn::GPT) trained on a text:PATH corpus by a
// run::Trainer in steps mode, with the reference recipe's defaults (../shared/bench/pytorch_char_gpt.py).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "data/text_dataset.h"
#include "nn/gpt.h"
#include "optim/adamw.h"
#include "optim/lr_scheduler.h"

namespace minidl::cli {

/// The language model's settings. Defaults are the reference's, exactly.
struct GptSettings {
  std::string model = "gpt";  // "gpt" or "gpt(layers=4,heads=4,embd=128,block=64,dropout=0)"
  std::string data;           // the corpus file (without "text:")
  int64_t steps = 2000, eval_every = 250, eval_batches = 20, batch_size = 12, warmup = 100;
  float lr = 1e-3f, min_lr = 1e-4f, weight_decay = 0.1f;
  double clip_grad_norm = 1.0;
  std::string schedule = "warmup-cosine";  // or "none": a constant lr
  uint64_t seed = 1337;
  /// "steps=2000,eval_every=250,…": what a checkpoint records under "gpt.run".
  std::string str() const;
  static GptSettings parse(const std::string& text, const std::string& what);
};

/// The corpus every GPT command reads without --data.
inline constexpr const char* kDefaultText = "data/text/fortunes.txt";

/// Whether `train` was asked for a language model: --model gpt… or --data text:….
bool wants_gpt(const TrainArgs& args);
/// Whether `path` (--resume) is a GPT run's checkpoint (false for anything else, errors included).
bool resumes_gpt(const std::string& path);
/// Whether `path` is a GPT checkpoint (gpt.config in its metadata); false for anything else, errors included.
bool is_gpt_checkpoint(const std::string& path);
/// `--data` as a text corpus path: "text:PATH" → PATH, "" → the default; anything else is a UsageError.
std::string text_path(const std::string& data);

/// --model "gpt" or "gpt(layers=…,heads=…,embd=…,block=…,dropout=…)" → the config (vocab 1: the data
/// decides it); a bad spec or config is a UsageError naming it.
nn::GPTConfig parse_gpt_model(const std::string& spec);
/// The corpus at `path`, checked to hold a validation split longer than `block`; else a UsageError
/// naming --data text:PATH.
data::TextDataset load_text(const std::string& path, int64_t block);
/// The run's lr schedule and its AdamW over GPT::optimizer_groups (decay on 2-D weights only), as
/// train builds them: explain-step rebuilds the same.
std::unique_ptr<optim::LRSchedule> make_gpt_schedule(const GptSettings& s);
std::unique_ptr<optim::AdamW> make_gpt_optimizer(const nn::GPT& model, const GptSettings& s);

/// The GPT flags of train that the MNIST models refuse (given: their values, by name).
struct GptFlags {
  int64_t steps = 0, eval_every = 0, eval_batches = 0;
  bool steps_given = false, eval_every_given = false, eval_batches_given = false;
};
int run_train_gpt(const TrainArgs& args, const GptFlags& flags);

/// minidl eval of a GPT checkpoint: validation loss and bits per byte over the whole split.
int run_eval_gpt(const std::string& checkpoint, const std::string& data, int threads);

}  // namespace minidl::cli
