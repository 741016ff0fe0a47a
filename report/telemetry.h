// A run's optimizer telemetry (the --telemetry JSONL), read back and charted: per layer or per
// parameter group, the gradient's norm, the direction buffer's, the cosine between them and the
// relative update, against the step.
#pragma once

#include <string>
#include <vector>

#include <minidl/report/chart.h>

namespace minidl::report {

/// One parameter group's (or one layer's) telemetry over the steps: NaN where a figure is
/// undefined (cos(g, buffer) before a buffer exists, ‖buffer‖ without one).
struct TelemetryTrace {
  std::string name{};  // the layer's ("0.weight"), or the group's ("group 0")
  std::vector<double> step{}, grad_norm{}, buffer_norm{}, cos{}, update_ratio{};
};
/// A --telemetry file: per layer when it records layers, else per group. Error naming the file
/// when it cannot be read or is not telemetry.
std::vector<TelemetryTrace> read_telemetry(const std::string& path, bool layers);

/// ‖g‖, ‖buffer‖, cos(g, buffer) and ‖Δθ‖/‖θ‖ against the step, one smoothed line per trace (the
/// raw values faint when there is a single trace). `id` prefixes the charts' ids.
std::vector<Chart> telemetry_charts(const std::vector<TelemetryTrace>& traces, const std::string& id);

}  // namespace minidl::report
