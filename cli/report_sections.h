// The parts that reports share: formatting, the optimizer telemetry (read back from its JSONL and
// charted), and the HTML of what a model shows (confusion matrix, wrong digits, weight tiles).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "cli/chart.h"
#include "cli/format.h"
#include "cli/model_view.h"
#include "cli/run_record.h"

namespace minidl::cli {

/// Up to 6 significant digits, as printf's %g: 0.01, 1e-05, 0.5.
std::string general(double v);
/// 0.98041 → "98.04%".
std::string percent(double fraction, int digits = 2);
/// <code>text</code>, escaped.
std::string code(const std::string& text);
/// 1234567 → "1.2 MB".
std::string megabytes(size_t bytes);
std::vector<double> as_doubles(const std::vector<float>& v);

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

/// The confusion matrix as a heatmap table with counts.
std::string confusion_html(const ModelView& view);
/// The most confidently wrong test images with their top three classes.
std::string wrong_digits_html(const ModelView& view);
/// Weight tiles and feature maps.
std::string learned_html(const ModelView& view);

}  // namespace minidl::cli
