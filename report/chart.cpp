#include "report/chart.h"
#include "report/chart_json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace minidl::report {

namespace {

// 5 significant digits: more than a chart can show, and a third of the bytes of a full double.
nlohmann::json number(double v) {
  if (!std::isfinite(v)) return nullptr;
  char text[32];
  std::snprintf(text, sizeof text, "%.5g", v);
  return std::strtod(text, nullptr);
}

nlohmann::json numbers(const std::vector<double>& values) {
  nlohmann::json out = nlohmann::json::array();
  for (double v : values) out.push_back(number(v));
  return out;
}

nlohmann::json axis_json(const Axis& a) {
  nlohmann::json j = {{"label", a.label}, {"log", a.log}, {"integer", a.integer}};
  if (a.min) j["min"] = *a.min;
  if (a.max) j["max"] = *a.max;
  if (a.cap) j["cap"] = *a.cap;
  return j;
}

}  // namespace

std::vector<int64_t> Chart::points() const {
  std::vector<int64_t> out;
  for (const Series& s : series)
    out.push_back(
        std::count_if(s.y.begin(), s.y.end(), [&](double v) { return std::isfinite(v) && (!y.log || v > 0); }));
  return out;
}

nlohmann::json to_json(const Chart& c) {
  nlohmann::json series = nlohmann::json::array();
  for (const Series& s : c.series) {
    nlohmann::json j = {{"name", s.name}, {"color", s.color}, {"y", numbers(s.y)}};
    if (s.faint) j["faint"] = true;
    if (s.markers) j["markers"] = true;
    if (s.dashed) j["dashed"] = true;
    if (s.x.empty())
      j["x0"] = s.x0, j["dx"] = s.dx;
    else
      j["x"] = numbers(s.x);
    if (!s.lo.empty()) j["lo"] = numbers(s.lo), j["hi"] = numbers(s.hi);
    series.push_back(std::move(j));
  }
  return {{"title", c.title}, {"note", c.note}, {"x", axis_json(c.x)}, {"y", axis_json(c.y)}, {"series", series}};
}

std::vector<double> smooth(const std::vector<double>& y, int64_t half_width) {
  const auto n = static_cast<int64_t>(y.size());
  // Prefix sums of the finite values and of their count: each window in O(1).
  std::vector<double> sum(static_cast<size_t>(n + 1), 0.0);
  std::vector<int64_t> count(static_cast<size_t>(n + 1), 0);
  for (int64_t i = 0; i < n; ++i) {
    const bool ok = std::isfinite(y[static_cast<size_t>(i)]);
    sum[static_cast<size_t>(i + 1)] = sum[static_cast<size_t>(i)] + (ok ? y[static_cast<size_t>(i)] : 0.0);
    count[static_cast<size_t>(i + 1)] = count[static_cast<size_t>(i)] + ok;
  }
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t width = std::min(2 * half_width + 1, n);  // the same at every point: no end artefact
    const auto lo = static_cast<size_t>(std::clamp<int64_t>(i - half_width, 0, n - width));
    const auto hi = lo + static_cast<size_t>(width);
    const int64_t k = count[hi] - count[lo];
    out[static_cast<size_t>(i)] = k > 0 ? (sum[hi] - sum[lo]) / static_cast<double>(k) : NAN;
  }
  return out;
}

int64_t smoothing_half_width(size_t n) { return std::max<int64_t>(1, static_cast<int64_t>(n) / 100); }

}  // namespace minidl::report
