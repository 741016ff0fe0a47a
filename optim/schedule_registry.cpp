#include "optim/schedule_registry.h"

#include <utility>

namespace minidl::optim {

namespace {

struct ScheduleEntry {
  std::string name;
  ScheduleBuilder make;
};

// Built-in schedules, one line each (an explicit table, as optim/registry.cpp's, for the same reason).
std::vector<ScheduleEntry>& table() {
  using O = const ScheduleOptions&;
  static std::vector<ScheduleEntry> entries = {
      {"none", [](O o) { return std::make_unique<ConstantLR>(o.lr); }},
      {"step",
       [](O o) { return std::make_unique<StepLR>(o.lr, o.step_size > 0 ? o.step_size : (o.epochs + 2) / 3, o.gamma); }},
      {"multistep", [](O o) { return std::make_unique<MultiStepLR>(o.lr, o.milestones, o.gamma); }},
      {"exponential", [](O o) { return std::make_unique<ExponentialLR>(o.lr, o.gamma); }},
      {"cosine", [](O o) { return std::make_unique<CosineAnnealingLR>(o.lr, static_cast<double>(o.epochs)); }},
      {"onecycle",
       [](O o) {
         return std::make_unique<OneCycleLR>(o.lr, o.epochs, o.steps_per_epoch,
                                             OneCycleLR::Options{.pct_start = o.pct_start});
       }},
      {"plateau",
       [](O o) {
         return std::make_unique<ReduceLROnPlateau>(
             o.lr, ReduceLROnPlateau::Options{.factor = o.gamma, .patience = o.patience});
       }},
  };
  return entries;
}

const ScheduleEntry* find(std::string_view name) {
  for (const ScheduleEntry& e : table())
    if (e.name == name) return &e;
  return nullptr;
}

}  // namespace

std::unique_ptr<LRSchedule> make_schedule(std::string_view name, const ScheduleOptions& options) {
  const ScheduleEntry* entry = find(name);
  if (!entry) {
    std::string known;
    for (const std::string& n : schedule_names()) known += (known.empty() ? "" : ", ") + n;
    fail("unknown schedule '", name, "' (known: ", known, ")");
  }
  std::unique_ptr<LRSchedule> s = entry->make(options);
  if (options.warmup_epochs > 0) s = std::make_unique<LinearWarmup>(std::move(s), options.warmup_epochs);
  return s;
}

std::vector<std::string> schedule_names() {
  std::vector<std::string> names;
  for (const ScheduleEntry& e : table()) names.push_back(e.name);
  return names;
}

bool has_schedule(std::string_view name) { return find(name) != nullptr; }

void register_schedule(std::string name, ScheduleBuilder builder) {
  check(!find(name), "register_schedule: a schedule named '", name, "' is already registered");
  check(static_cast<bool>(builder), "register_schedule: '", name, "' has no builder");
  table().push_back({std::move(name), std::move(builder)});
}

}  // namespace minidl::optim
