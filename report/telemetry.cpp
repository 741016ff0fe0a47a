#include "report/telemetry.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <new>
#include <string_view>

#include "core/error.h"
#include "data/file_bytes.h"
#include "report/bounded_json.h"
#include "report/run_summary.h"

namespace minidl::report {

std::vector<TelemetryTrace> read_telemetry(const std::string& path, bool layers) {
  // Read whole, bounded and from a regular file only: a FIFO or /dev/zero named as telemetry is an
  // error at once, not a hang or an endless line.
  const std::vector<uint8_t> bytes = data::read_file(path, "report", kMaxTelemetryBytes, "a telemetry file");
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  std::vector<TelemetryTrace> traces;
  std::map<std::string, size_t> index;
  const auto figure = [](const nlohmann::json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<double>() : NAN;
  };
  const auto add = [&](const std::string& name, double step, const nlohmann::json& j) {
    auto [it, added] = index.emplace(name, traces.size());
    if (added) traces.push_back({.name = name});
    TelemetryTrace& t = traces[it->second];
    t.step.push_back(step);
    t.grad_norm.push_back(figure(j, "grad_norm"));
    t.buffer_norm.push_back(figure(j, "buffer_norm"));
    t.cos.push_back(figure(j, "cos_grad_buffer"));
    t.update_ratio.push_back(figure(j, "update_ratio"));
  };
  int64_t number = 0;
  for (size_t at = 0; at < text.size();) {
    const size_t end = std::min(text.find('\n', at), text.size());
    const std::string_view line = text.substr(at, end - at);
    at = end + 1;
    ++number;
    if (line.empty()) continue;
    try {
      const auto j = parse_report_json(line, str_cat(path, " line ", number), "minidl telemetry");
      const double step = j.at("step").get<double>();
      if (layers && j.contains("layers")) {
        for (const auto& layer : j.at("layers")) add(layer.at("name").get<std::string>(), step, layer);
      } else {
        add("group " + std::to_string(j.at("group").get<int64_t>()), step, j);
      }
    } catch (const nlohmann::json::exception& e) {
      fail("report: ", path, " line ", number, ": not minidl telemetry (", e.what(), ")");
    } catch (const std::bad_alloc&) {
      fail("report: ", path, ": out of memory reading it as telemetry");
    }
  }
  return traces;
}

std::vector<Chart> telemetry_charts(const std::vector<TelemetryTrace>& traces, const std::string& id) {
  struct Figure {
    const char* key;
    const char* title;
    const char* label;
    bool log;
    std::vector<double> TelemetryTrace::*values;
  };
  const Figure figures[] = {
      {"grad", "Gradient norm ‖g‖", "‖g‖ (L2 norm)", true, &TelemetryTrace::grad_norm},
      {"buffer", "Direction buffer ‖buffer‖ after the step", "‖buffer‖ (L2 norm)", true, &TelemetryTrace::buffer_norm},
      {"cos", "cos(g, buffer): does the gradient agree with momentum?", "cosine", false, &TelemetryTrace::cos},
      {"update", "Relative update ‖Δθ‖ / ‖θ‖", "‖Δθ‖ / ‖θ‖", true, &TelemetryTrace::update_ratio},
  };
  std::vector<Chart> charts;
  for (const Figure& f : figures) {
    Chart c{.id = id + "-" + f.key, .title = f.title, .x = {.label = "step"}, .y = {.label = f.label, .log = f.log}};
    if (!f.log) c.y.min = -1, c.y.max = 1;
    bool any = false;
    int64_t half = 1;
    for (size_t k = 0; k < traces.size(); ++k) {
      const TelemetryTrace& t = traces[k];
      const std::vector<double>& v = t.*f.values;
      if (std::none_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); })) continue;
      any = true;
      half = smoothing_half_width(v.size());
      const int color = static_cast<int>(k % 8);
      if (traces.size() == 1)
        c.series.push_back({.name = t.name + " (each step)", .color = color, .faint = true, .x = t.step, .y = v});
      c.series.push_back({.name = t.name, .color = color, .x = t.step, .y = smooth(v, half)});
    }
    if (!any) continue;
    c.note = "Lines: centred averages over " + std::to_string(2 * half + 1) + " steps" +
             (traces.size() == 1 ? "; faint: each step." : ".") +
             (f.log ? ""
                    : " Undefined steps (no buffer yet) are left out, not drawn as 0. Near 0 is normal once the first "
                      "descent is over (each batch's gradient is mostly noise against the buffer's average); staying "
                      "near 1: the lr could be larger; staying clearly below 0: steps undo each other, the lr is "
                      "likely too large.");
    charts.push_back(std::move(c));
  }
  return charts;
}

}  // namespace minidl::report
