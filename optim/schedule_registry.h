// LR schedules by name, for the trainer's --schedule flag, as optim/registry.h does for optimizers:
// the built-ins are one table in schedule_registry.cpp, one line each; register_schedule() adds one
// at run time (a program, or a plugin the minidl program loads with --plugin).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <minidl/optim/lr_scheduler.h>

namespace minidl::optim {

/// The settings a schedule is built from: what a run knows. Each schedule reads those it needs
/// (StepLR: lr, step_size, gamma; OneCycleLR: lr, epochs, steps_per_epoch, pct_start; …).
struct ScheduleOptions {
  float lr = 0.01f;                 // the base lr (onecycle: the peak)
  int64_t epochs = 1;               // the run's length (cosine's t_max, onecycle's span, step's default)
  int64_t steps_per_epoch = 1;      // onecycle: the lr moves every step
  float gamma = 0.1f;               // step, multistep, exponential: the decay factor; plateau: its factor
  int64_t step_size = 0;            // step: epochs per decay (0: a third of the run)
  std::vector<int64_t> milestones;  // multistep: the epochs at which the lr is multiplied by gamma
  int64_t patience = 10;            // plateau: epochs without improvement before a decay
  double pct_start = 0.3;           // onecycle: the part of the run spent rising to lr
  double warmup_epochs = 0;         // > 0: a linear warm-up (LinearWarmup) in front of the schedule
};

using ScheduleBuilder = std::function<std::unique_ptr<LRSchedule>(const ScheduleOptions&)>;

/// Builds schedule `name` ("none" is a constant lr), wrapped in a linear warm-up when
/// options.warmup_epochs > 0. An unknown name throws Error naming the known ones.
std::unique_ptr<LRSchedule> make_schedule(std::string_view name, const ScheduleOptions& options);
/// Known names, in registration order: none, step, multistep, exponential, cosine, onecycle, plateau.
std::vector<std::string> schedule_names();
/// True when `name` is registered.
bool has_schedule(std::string_view name);
/// Adds a schedule under a new name (throws if the name is taken).
void register_schedule(std::string name, ScheduleBuilder builder);

}  // namespace minidl::optim
