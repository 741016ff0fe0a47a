// Learning-rate schedules: the lr as a function of training progress, measured in epochs
// (fractional inside an epoch). All but ReduceLROnPlateau are closed forms, with no state of their
// own: resuming from a checkpoint at any step gives exactly the lr the uninterrupted run had.
// ReduceLROnPlateau follows a metric; its few numbers are state() and go into checkpoints.
// The trainer calls schedule.apply(optimizer, epoch + batch / batches_per_epoch) before each step
// and schedule.observe(metric) after each epoch. Each matches torch.optim.lr_scheduler stepped once
// per epoch (OneCycleLR: once per step), as tests/test_optim.cpp checks against PyTorch's numbers.
#pragma once

#include <memory>
#include <vector>

#include <minidl/optim/optimizer.h>

namespace minidl::optim {

class LRSchedule {
 public:
  virtual ~LRSchedule() = default;
  virtual float lr(double epoch) const = 0;
  void apply(Optimizer& optimizer, double epoch) const { optimizer.set_lr(lr(epoch)); }
  /// After an epoch: the metric a schedule that follows one (ReduceLROnPlateau) watches.
  virtual void observe(double /*metric*/) {}
  /// A stateful schedule's state, for checkpoints (empty for closed forms).
  virtual std::vector<double> state() const { return {}; }
  virtual void load_state(const std::vector<double>& state);
};

/// lr = base_lr throughout.
class ConstantLR : public LRSchedule {
 public:
  explicit ConstantLR(float base_lr);
  float lr(double) const override { return base_lr_; }

 private:
  float base_lr_;
};

/// lr = base_lr · gamma^⌊epoch / step_size⌋, torch.optim.lr_scheduler.StepLR.
class StepLR : public LRSchedule {
 public:
  StepLR(float base_lr, int64_t step_size, float gamma = 0.1f);
  float lr(double epoch) const override;

 private:
  float base_lr_;
  int64_t step_size_;
  float gamma_;
};

/// lr = base_lr · gamma^(number of milestones ≤ ⌊epoch⌋), torch.optim.lr_scheduler.MultiStepLR.
class MultiStepLR : public LRSchedule {
 public:
  MultiStepLR(float base_lr, std::vector<int64_t> milestones, float gamma = 0.1f);
  float lr(double epoch) const override;

 private:
  float base_lr_;
  std::vector<int64_t> milestones_;
  float gamma_;
};

/// lr = base_lr · gamma^⌊epoch⌋, torch.optim.lr_scheduler.ExponentialLR.
class ExponentialLR : public LRSchedule {
 public:
  ExponentialLR(float base_lr, float gamma);
  float lr(double epoch) const override;

 private:
  float base_lr_, gamma_;
};

/// torch.optim.lr_scheduler.OneCycleLR(max_lr, epochs, steps_per_epoch, pct_start, 'cos',
/// cycle_momentum=False, div_factor, final_div_factor, three_phase), stepped once per step:
/// from max_lr/div_factor up to max_lr over the first pct_start of the steps, then (cosine) down
/// to max_lr/(div_factor·final_div_factor); three_phase goes back down to the start before the
/// final annealing. The step is ⌊epoch · steps_per_epoch⌉; past the last step the lr stays.
/// NOTE: torch's default cycle_momentum=True also cycles momentum (or Adam's β1); minidl cycles the lr only.
class OneCycleLR : public LRSchedule {
 public:
  struct Options {
    double pct_start = 0.3;
    double div_factor = 25;
    double final_div_factor = 1e4;
    bool three_phase = false;
  };
  OneCycleLR(float max_lr, int64_t epochs, int64_t steps_per_epoch, Options options);
  float lr(double epoch) const override;

 private:
  float max_lr_;
  int64_t total_steps_, steps_per_epoch_;
  Options o_;
};

/// torch.optim.lr_scheduler.ReduceLROnPlateau(mode='min', factor, patience, threshold,
/// threshold_mode='rel', cooldown, min_lr, eps=1e-8): observe(metric) after each epoch; after more
/// than `patience` epochs without a relative improvement of `threshold` over the best so far, the
/// lr becomes max(lr · factor, min_lr), then `cooldown` epochs pass before bad epochs count again.
class ReduceLROnPlateau : public LRSchedule {
 public:
  struct Options {
    float factor = 0.1f;
    int64_t patience = 10;
    double threshold = 1e-4;
    int64_t cooldown = 0;
    float min_lr = 0.f;
  };
  ReduceLROnPlateau(float base_lr, Options options);
  float lr(double) const override { return lr_; }
  void observe(double metric) override;
  std::vector<double> state() const override;  // lr, best, bad epochs, cooldown left
  void load_state(const std::vector<double>& state) override;

 private:
  Options o_;
  float lr_;
  double best_;
  int64_t bad_epochs_ = 0, cooldown_left_ = 0;
};

/// lr = eta_min + (base_lr − eta_min) · (1 + cos(π · epoch / t_max)) / 2, the closed form of
/// torch.optim.lr_scheduler.CosineAnnealingLR (which, like this, rises again after t_max).
class CosineAnnealingLR : public LRSchedule {
 public:
  CosineAnnealingLR(float base_lr, double t_max, float eta_min = 0.f);
  float lr(double epoch) const override;

 private:
  float base_lr_;
  double t_max_;
  float eta_min_;
};

/// Linear warm-up in front of another schedule: its lr times a factor rising linearly from
/// start_factor at epoch 0 to 1 at warmup_epochs, 1 afterwards.
class LinearWarmup : public LRSchedule {
 public:
  LinearWarmup(std::unique_ptr<LRSchedule> inner, double warmup_epochs, float start_factor = 0.1f);
  float lr(double epoch) const override;
  void observe(double metric) override { inner_->observe(metric); }
  std::vector<double> state() const override { return inner_->state(); }
  void load_state(const std::vector<double>& state) override { inner_->load_state(state); }

 private:
  std::unique_ptr<LRSchedule> inner_;
  double warmup_epochs_;
  float start_factor_;
};

/// nanoGPT's schedule, counted in optimizer steps (the time a step-based run::Trainer gives):
/// lr = base_lr · (step + 1) / warmup for step < warmup (a linear warm-up that reaches base_lr at
/// its last step), then min_lr + (base_lr − min_lr) · (1 + cos(π · (step − warmup) / max(1, total −
/// warmup))) / 2, and min_lr from `total` on: lr_at of ../shared/bench/pytorch_char_gpt.py, exactly.
class WarmupCosineLR : public LRSchedule {
 public:
  WarmupCosineLR(float base_lr, int64_t warmup, int64_t total, float min_lr);
  float lr(double step) const override;

 private:
  float base_lr_;
  int64_t warmup_, total_;
  float min_lr_;
};

}  // namespace minidl::optim
