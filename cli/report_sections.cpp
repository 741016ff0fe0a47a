#include "cli/report_sections.h"

#include <algorithm>
#include <string_view>

#include "data/file_bytes.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/report_page.h"

namespace minidl::cli {

std::string general(double v) {
  char text[64];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

std::string percent(double fraction, int digits) {
  return std::isfinite(fraction) ? fixed(100 * fraction, digits) + "%" : "–";
}

std::string code(const std::string& text) { return "<code>" + escape_html(text) + "</code>"; }

std::string megabytes(size_t bytes) { return fixed(static_cast<double>(bytes) / 1e6, bytes < 100000 ? 2 : 1) + " MB"; }

std::vector<double> as_doubles(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// ---- telemetry

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

// ---- what a model shows

namespace {

// Red for positive, blue for negative, white at 0 (t in [-1, 1]).
void diverging(float t, uint8_t* rgb) {
  t = std::clamp(t, -1.f, 1.f);
  const float white[3] = {247, 247, 247}, red[3] = {178, 24, 43}, blue[3] = {33, 102, 172};
  const float* end = t >= 0 ? red : blue;
  const float a = std::fabs(t);
  for (int c = 0; c < 3; ++c) rgb[c] = static_cast<uint8_t>(std::lround(white[c] + a * (end[c] - white[c])));
}

std::string grey_uri(const std::vector<float>& pixels, int side) {
  std::vector<uint8_t> bytes;
  for (float v : pixels) bytes.push_back(static_cast<uint8_t>(std::lround(std::clamp(v, 0.f, 1.f) * 255)));
  return png_data_uri(bytes, side, side, 1);
}

std::string tiles_html(const Tiles& t) {
  const int64_t size = t.height * t.width;
  float shared = 0;
  for (float v : t.values) shared = std::max(shared, std::fabs(v));
  std::string out = "<div class=\"tiles\">";
  std::vector<uint8_t> rgb(static_cast<size_t>(size * 3));
  for (int64_t k = 0; k < t.count; ++k) {
    const float* v = t.values.data() + k * size;
    float scale = shared;
    if (!t.shared_scale) {
      scale = 0;
      for (int64_t i = 0; i < size; ++i) scale = std::max(scale, std::fabs(v[i]));
    }
    for (int64_t i = 0; i < size; ++i) {
      const float x = scale > 0 ? v[i] / scale : 0.f;
      if (t.is_signed) {
        diverging(x, &rgb[static_cast<size_t>(3 * i)]);
      } else {
        const auto g = static_cast<uint8_t>(std::lround(std::clamp(x, 0.f, 1.f) * 255));
        rgb[static_cast<size_t>(3 * i)] = rgb[static_cast<size_t>(3 * i + 1)] = rgb[static_cast<size_t>(3 * i + 2)] = g;
      }
    }
    const std::string label = k < static_cast<int64_t>(t.labels.size()) ? t.labels[static_cast<size_t>(k)] : "";
    out += "<img src=\"" + png_data_uri(rgb, static_cast<int>(t.width), static_cast<int>(t.height), 3) + "\" alt=\"" +
           escape_html(label) + "\" title=\"" + escape_html(label) + "\">";
  }
  return out + "</div>";
}

}  // namespace

std::string confusion_html(const ModelView& view) {
  const auto n = view.confusion.size();
  int64_t most_wrong = 0;
  for (size_t r = 0; r < n; ++r)
    for (size_t c = 0; c < n; ++c)
      if (r != c) most_wrong = std::max(most_wrong, view.confusion[r][c]);
  std::string out =
      "<div class=\"scroll\"><table class=\"confusion\"><caption class=\"axis-caption\">rows: the true class; columns: "
      "the class predicted; last column: the share of that class classified right</caption><tr><th></th>";
  for (size_t c = 0; c < n; ++c)
    out += "<th title=\"predicted " + escape_html(view.class_names[c]) + "\">" + std::to_string(c) + "</th>";
  out += "<th>right</th></tr>";
  for (size_t r = 0; r < n; ++r) {
    int64_t total = 0;
    for (int64_t v : view.confusion[r]) total += v;
    out +=
        "<tr><th title=\"true " + escape_html(view.class_names[r]) + "\">" + escape_html(view.class_names[r]) + "</th>";
    for (size_t c = 0; c < n; ++c) {
      const int64_t v = view.confusion[r][c];
      // Right answers in green by the class's recall; mistakes in orange by their count, on a
      // square-root scale so that a handful of errors still shows beside the largest.
      double alpha = 0;
      std::string colour = "213,94,0";
      if (r == c) {
        alpha = total ? 0.85 * static_cast<double>(v) / static_cast<double>(total) : 0;
        colour = "0,143,104";
      } else if (most_wrong > 0) {
        alpha = 0.9 * std::sqrt(static_cast<double>(v) / static_cast<double>(most_wrong));
      }
      const std::string title = "true " + view.class_names[r] + ", predicted " + view.class_names[c] + ": " +
                                std::to_string(v) + (v == 1 ? " image" : " images") +
                                (total ? " (" + percent(static_cast<double>(v) / static_cast<double>(total), 1) +
                                             " of the " + view.class_names[r] + "s)"
                                       : "");
      out += "<td class=\"" +
             std::string(v == 0        ? "zero"
                         : alpha > 0.5 ? "strong"
                                       : "") +
             "\"" + (v ? " style=\"background:rgba(" + colour + "," + fixed(alpha, 3) + ")\"" : "") + " title=\"" +
             escape_html(title) + "\">" + std::to_string(v) + "</td>";
    }
    out += "<td>" + (total ? percent(static_cast<double>(view.confusion[r][r]) / static_cast<double>(total), 1) : "–") +
           "</td></tr>";
  }
  return out + "</table></div>\n";
}

std::string wrong_digits_html(const ModelView& view) {
  if (view.wrong.empty()) return "<p class=\"notice\">The model classified every test image right.</p>\n";
  std::string out = "<div class=\"digits\">";
  for (const WrongGuess& g : view.wrong) {
    out += "<figure class=\"digit\"><img src=\"" + grey_uri(g.pixels, 28) + "\" alt=\"test image " +
           std::to_string(g.index) + "\" title=\"test image " + std::to_string(g.index) +
           "\"><figcaption><div class=\"truth\">" + escape_html(view.class_names[static_cast<size_t>(g.truth)]) +
           " <span class=\"axis-caption\">#" + std::to_string(g.index) + "</span></div>";
    for (int k = 0; k < 3; ++k) {
      const int c = g.classes[static_cast<size_t>(k)];
      const float p = g.probabilities[static_cast<size_t>(k)];
      const int colour = c == g.truth ? 2 : k == 0 ? 1 : 7;
      out += "<div>" + escape_html(view.class_names[static_cast<size_t>(c)]) + " · " + percent(p, 1) +
             "</div><div class=\"bar f" + std::to_string(colour) +
             "\" style=\"width:" + fixed(std::max(2.f, 100 * p), 1) + "%\"></div>";
    }
    out += "</figcaption></figure>";
  }
  return out + "</div>\n";
}

std::string learned_html(const ModelView& view) {
  std::string out = "<div class=\"learned\">";
  for (const Tiles& t : view.learned) {
    out += "<div><h3>" + escape_html(t.title) + "</h3><p>" + escape_html(t.caption) + "</p>";
    if (!t.shared_scale || view.digit.empty()) {
      out += tiles_html(t);
    } else {
      out += "<div class=\"with-digit\"><img src=\"" + grey_uri(view.digit, 28) + "\" alt=\"" +
             escape_html(view.digit_caption) + "\" title=\"" + escape_html(view.digit_caption) + "\">" + tiles_html(t) +
             "</div>";
    }
    out += "</div>";
  }
  return out + "</div>\n";
}

}  // namespace minidl::cli
