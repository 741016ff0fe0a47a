// A line chart of a report, as data: axes (linear or logarithmic), series of points, shaded bands
// (the spread over seeds). minidl computes every number (smoothing and spreads included) and the
// page's script (report/assets/report.js) only draws them as inline SVG, at the size the
// screen gives it, with the values under the pointer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace minidl::report {

struct Series {
  std::string name{};
  int color = 0;         // the palette's colour (0–7; the page picks shades for light and dark)
  bool faint = false;    // thin and light: raw per-step values under their smoothing
  bool markers = false;  // a dot per point (per-epoch values)
  bool dashed = false;
  double x0 = 1, dx = 1;  // when `x` is empty, point i is at x0 + i·dx (per-step series)
  std::vector<double> x{}, y{};
  std::vector<double> lo{}, hi{};  // when not empty: a band from lo to hi at each x (the spread over seeds)
};

struct Axis {
  std::string label{};  // with the unit, e.g. "test accuracy (%)"
  bool log = false;
  std::optional<double> min{}, max{};  // fixed ends; otherwise the data's range
  std::optional<double> cap{};         // the range, padded, ends here at most (100 for a percentage)
  bool integer = false;                // ticks at whole numbers only (epochs)
};

struct Chart {
  std::string id{};     // unique in the page
  std::string title{};  // shown above the chart
  std::string note{};   // a line under it, e.g. how the curve was smoothed
  Axis x{}, y{};
  std::vector<Series> series{};
  /// Points drawn: per series, the finite points (a log axis drops values <= 0).
  std::vector<int64_t> points() const;
};

/// A moving average over windows of 2h + 1 points (all n when fewer), centred on point i where it
/// fits and shifted inward at the ends: point i averages the finite values from lo to lo + 2h, lo =
/// clamp(i − h, 0, n − 2h − 1). Unlike a trailing average it does not lag a falling loss, and unlike
/// a window that shrinks towards the ends, its last point is not the last batch's raw (noisy) loss;
/// non-finite values are skipped (NaN where a window has none).
std::vector<double> smooth(const std::vector<double>& y, int64_t half_width);

/// The half-width for n per-step points: about 1% of the run on each side (at least 1).
int64_t smoothing_half_width(size_t n);

}  // namespace minidl::report
