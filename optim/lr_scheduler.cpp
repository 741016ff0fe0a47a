#include "optim/lr_scheduler.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace minidl::optim {

ConstantLR::ConstantLR(float base_lr) : base_lr_(base_lr) { check_non_negative("ConstantLR", "base_lr", base_lr); }

StepLR::StepLR(float base_lr, int64_t step_size, float gamma) : base_lr_(base_lr), step_size_(step_size), gamma_(gamma) {
  check_non_negative("StepLR", "base_lr", base_lr);
  check(step_size >= 1, "StepLR: step_size must be >= 1, got ", step_size);
  check_non_negative("StepLR", "gamma", gamma);
}

float StepLR::lr(double epoch) const {
  const double steps = std::floor(std::max(epoch, 0.0) / static_cast<double>(step_size_));
  return static_cast<float>(base_lr_ * std::pow(static_cast<double>(gamma_), steps));
}

CosineAnnealingLR::CosineAnnealingLR(float base_lr, double t_max, float eta_min)
    : base_lr_(base_lr), t_max_(t_max), eta_min_(eta_min) {
  check_non_negative("CosineAnnealingLR", "base_lr", base_lr);
  check_non_negative("CosineAnnealingLR", "eta_min", eta_min);
  check(std::isfinite(t_max) && t_max > 0, "CosineAnnealingLR: t_max must be > 0, got ", t_max);
}

float CosineAnnealingLR::lr(double epoch) const {
  const double c = (1.0 + std::cos(std::numbers::pi * epoch / t_max_)) / 2.0;
  return static_cast<float>(eta_min_ + (static_cast<double>(base_lr_) - eta_min_) * c);
}

LinearWarmup::LinearWarmup(std::unique_ptr<LRSchedule> inner, double warmup_epochs, float start_factor)
    : inner_(std::move(inner)), warmup_epochs_(warmup_epochs), start_factor_(start_factor) {
  check(inner_ != nullptr, "LinearWarmup: no schedule to warm up");
  check(std::isfinite(warmup_epochs) && warmup_epochs > 0, "LinearWarmup: warmup_epochs must be > 0, got ",
        warmup_epochs);
  check(std::isfinite(start_factor) && start_factor >= 0 && start_factor <= 1,
        "LinearWarmup: start_factor must be in [0, 1], got ", start_factor);
}

float LinearWarmup::lr(double epoch) const {
  const double t = std::clamp(epoch / warmup_epochs_, 0.0, 1.0);
  return static_cast<float>(inner_->lr(epoch) * (start_factor_ + (1.0 - start_factor_) * t));
}

}  // namespace minidl::optim
