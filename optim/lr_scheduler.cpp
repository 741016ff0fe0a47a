#include "optim/lr_scheduler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace minidl::optim {

void LRSchedule::load_state(const std::vector<double>& state) {
  check(state.empty(), "this lr schedule has no state, got ", state.size(), " numbers");
}

ConstantLR::ConstantLR(float base_lr) : base_lr_(base_lr) { check_non_negative("ConstantLR", "base_lr", base_lr); }

StepLR::StepLR(float base_lr, int64_t step_size, float gamma)
    : base_lr_(base_lr), step_size_(step_size), gamma_(gamma) {
  check_non_negative("StepLR", "base_lr", base_lr);
  check(step_size >= 1, "StepLR: step_size must be >= 1, got ", step_size);
  check_non_negative("StepLR", "gamma", gamma);
}

float StepLR::lr(double epoch) const {
  const double steps = std::floor(std::max(epoch, 0.0) / static_cast<double>(step_size_));
  return static_cast<float>(base_lr_ * std::pow(static_cast<double>(gamma_), steps));
}

MultiStepLR::MultiStepLR(float base_lr, std::vector<int64_t> milestones, float gamma)
    : base_lr_(base_lr), milestones_(std::move(milestones)), gamma_(gamma) {
  check_non_negative("MultiStepLR", "base_lr", base_lr);
  check_non_negative("MultiStepLR", "gamma", gamma);
  check(!milestones_.empty(), "MultiStepLR: needs at least one milestone");
  for (size_t i = 0; i < milestones_.size(); ++i)
    check(milestones_[i] >= 1 && (i == 0 || milestones_[i] > milestones_[i - 1]),
          "MultiStepLR: milestones must be increasing epochs >= 1, got ", milestones_[i], " at position ", i);
}

float MultiStepLR::lr(double epoch) const {
  const double e = std::floor(std::max(epoch, 0.0));
  const auto passed = std::count_if(milestones_.begin(), milestones_.end(), [&](int64_t m) { return m <= e; });
  return static_cast<float>(base_lr_ * std::pow(static_cast<double>(gamma_), static_cast<double>(passed)));
}

ExponentialLR::ExponentialLR(float base_lr, float gamma) : base_lr_(base_lr), gamma_(gamma) {
  check_non_negative("ExponentialLR", "base_lr", base_lr);
  check(std::isfinite(gamma) && gamma > 0, "ExponentialLR: gamma must be > 0, got ", gamma);
}

float ExponentialLR::lr(double epoch) const {
  return static_cast<float>(base_lr_ * std::pow(static_cast<double>(gamma_), std::floor(std::max(epoch, 0.0))));
}

OneCycleLR::OneCycleLR(float max_lr, int64_t epochs, int64_t steps_per_epoch, Options options)
    : max_lr_(max_lr), total_steps_(epochs * steps_per_epoch), steps_per_epoch_(steps_per_epoch), o_(options) {
  check_non_negative("OneCycleLR", "max_lr", max_lr);
  check(epochs >= 1 && steps_per_epoch >= 1, "OneCycleLR: needs epochs and steps_per_epoch >= 1, got ", epochs, " and ",
        steps_per_epoch);
  check(o_.pct_start > 0 && o_.pct_start < 1, "OneCycleLR: pct_start must be in (0, 1), got ", o_.pct_start);
  check(o_.div_factor > 0 && o_.final_div_factor > 0, "OneCycleLR: div_factor and final_div_factor must be > 0");
  // torch computes each phase's end as pct_start · total − 1 (and 2·pct_start · total − 2): at least
  // one step per phase, or its division by the phase's length fails.
  const double end1 = o_.pct_start * static_cast<double>(total_steps_) - 1;
  check(end1 > 0 && (!o_.three_phase || 2 * end1 < static_cast<double>(total_steps_) - 1), "OneCycleLR: ", total_steps_,
        " steps are too few for pct_start ", o_.pct_start);
}

float OneCycleLR::lr(double epoch) const {
  const double step =
      std::clamp(std::round(epoch * static_cast<double>(steps_per_epoch_)), 0.0, static_cast<double>(total_steps_ - 1));
  const double initial = max_lr_ / o_.div_factor, max = max_lr_, min = initial / o_.final_div_factor;
  const double total = static_cast<double>(total_steps_);
  struct Phase {
    double end, start_lr, end_lr;
  };
  const double end1 = o_.pct_start * total - 1;
  const std::vector<Phase> phases = o_.three_phase ? std::vector<Phase>{{end1, initial, max},
                                                                        {2 * o_.pct_start * total - 2, max, initial},
                                                                        {total - 1, initial, min}}
                                                   : std::vector<Phase>{{end1, initial, max}, {total - 1, max, min}};
  double start = 0;
  for (size_t i = 0; i < phases.size(); ++i) {
    if (step <= phases[i].end || i + 1 == phases.size()) {
      const double pct = (step - start) / (phases[i].end - start);  // cosine annealing, as torch's _annealing_cos
      return static_cast<float>(phases[i].end_lr +
                                (phases[i].start_lr - phases[i].end_lr) / 2.0 * (std::cos(std::numbers::pi * pct) + 1));
    }
    start = phases[i].end;
  }
  return static_cast<float>(min);
}

ReduceLROnPlateau::ReduceLROnPlateau(float base_lr, Options options)
    : o_(options), lr_(base_lr), best_(std::numeric_limits<double>::infinity()) {
  check_non_negative("ReduceLROnPlateau", "base_lr", base_lr);
  check(std::isfinite(o_.factor) && o_.factor >= 0 && o_.factor < 1,
        "ReduceLROnPlateau: factor must be in [0, 1), got ", o_.factor);
  check(o_.patience >= 0, "ReduceLROnPlateau: patience must be >= 0, got ", o_.patience);
  check(o_.cooldown >= 0, "ReduceLROnPlateau: cooldown must be >= 0, got ", o_.cooldown);
  check(std::isfinite(o_.threshold) && o_.threshold >= 0, "ReduceLROnPlateau: threshold must be >= 0, got ",
        o_.threshold);
  check_non_negative("ReduceLROnPlateau", "min_lr", o_.min_lr);
}

void ReduceLROnPlateau::observe(double metric) {
  if (metric < best_ * (1 - o_.threshold)) {  // mode 'min', threshold_mode 'rel'
    best_ = metric;
    bad_epochs_ = 0;
  } else {
    ++bad_epochs_;
  }
  if (cooldown_left_ > 0) {
    --cooldown_left_;
    bad_epochs_ = 0;
  }
  if (bad_epochs_ > o_.patience) {
    const double reduced = std::max(static_cast<double>(lr_) * o_.factor, static_cast<double>(o_.min_lr));
    if (lr_ - reduced > 1e-8) lr_ = static_cast<float>(reduced);  // torch's eps: smaller changes are ignored
    cooldown_left_ = o_.cooldown;
    bad_epochs_ = 0;
  }
}

std::vector<double> ReduceLROnPlateau::state() const {
  return {lr_, best_, static_cast<double>(bad_epochs_), static_cast<double>(cooldown_left_)};
}

void ReduceLROnPlateau::load_state(const std::vector<double>& state) {
  check(state.size() == 4 && state[0] >= 0 && state[2] >= 0 && state[3] >= 0,
        "ReduceLROnPlateau: state must be lr, best, bad epochs, cooldown left; got ", state.size(), " numbers");
  lr_ = static_cast<float>(state[0]);
  best_ = state[1];
  bad_epochs_ = static_cast<int64_t>(state[2]);
  cooldown_left_ = static_cast<int64_t>(state[3]);
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

WarmupCosineLR::WarmupCosineLR(float base_lr, int64_t warmup, int64_t total, float min_lr)
    : base_lr_(base_lr), warmup_(warmup), total_(total), min_lr_(min_lr) {
  check_non_negative("WarmupCosineLR", "base_lr", base_lr);
  check_non_negative("WarmupCosineLR", "min_lr", min_lr);
  check(warmup >= 0 && total >= 1, "WarmupCosineLR: warmup must be >= 0 and total >= 1, got ", warmup, " and ", total);
}

float WarmupCosineLR::lr(double step) const {
  // In double as Python computes it, rounded to float once (the optimizer's lr is a float).
  const double base = base_lr_, low = min_lr_;
  if (step < static_cast<double>(warmup_)) return static_cast<float>(base * (step + 1) / static_cast<double>(warmup_));
  if (step >= static_cast<double>(total_)) return min_lr_;
  const double r = (step - static_cast<double>(warmup_)) / static_cast<double>(std::max<int64_t>(1, total_ - warmup_));
  return static_cast<float>(low + 0.5 * (1.0 + std::cos(std::numbers::pi * r)) * (base - low));
}

}  // namespace minidl::optim
