#include "report/model_view_html.h"

#include <algorithm>
#include <cmath>

#include "report/format.h"
#include "report/page.h"

namespace minidl::report {

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

}  // namespace minidl::report
