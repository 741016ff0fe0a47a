// Learning-rate schedules: the lr as a closed-form function of training progress, measured in
// epochs (fractional inside an epoch). Being closed forms, they need no state of their own:
// resuming from a checkpoint at any step gives exactly the lr the uninterrupted run had.
// The trainer calls schedule.apply(optimizer, epoch + batch / batches_per_epoch) before each step.
#pragma once

#include <memory>

#include "optim/optimizer.h"

namespace minidl::optim {

class LRSchedule {
 public:
  virtual ~LRSchedule() = default;
  virtual float lr(double epoch) const = 0;
  void apply(Optimizer& optimizer, double epoch) const { optimizer.set_lr(lr(epoch)); }
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

 private:
  std::unique_ptr<LRSchedule> inner_;
  double warmup_epochs_;
  float start_factor_;
};

}  // namespace minidl::optim
