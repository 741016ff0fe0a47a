// One self-contained HTML page for reports: its style and script inline (report/assets, embedded
// by the build), images as data: URIs, charts as JSON that the script draws. Nothing in it points
// outside the file: a Content-Security-Policy lets the browser fetch nothing but data: images, and
// every text from outside (a command line, a path, a model description) is escaped with '/' as an
// entity, so the file holds no "//" at all outside its base64 images (tests/test_seeing.cpp checks).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <minidl/report/chart.h>

namespace minidl::report {

/// Text made safe for HTML: & < > " ' and / as entities.
std::string escape_html(const std::string& text);
/// Bytes as base64 (RFC 4648, with padding).
std::string base64(std::span<const uint8_t> bytes);
/// "data:image/png;base64,…" for 8-bit pixels (1 channel grey, 3 RGB), row-major.
std::string png_data_uri(std::span<const uint8_t> pixels, int width, int height, int channels);

class Page {
 public:
  /// `title`: the browser tab's; `heading` and `subtitle` open the page (plain text, escaped).
  Page(const std::string& title, const std::string& heading, const std::string& subtitle);

  /// A section: its heading, an id for links, and an introduction (HTML, or "" for none).
  void section(const std::string& title, const std::string& id, const std::string& intro_html = "");
  /// Label/value rows; values are HTML (escape what comes from outside).
  void facts(const std::vector<std::pair<std::string, std::string>>& rows);
  /// Charts side by side (one column on a phone).
  void charts(const std::vector<Chart>& charts);
  /// A fragment of HTML built with escape_html.
  void html(const std::string& fragment);

  /// The page, its footer saying how long it took to make (`seconds`).
  std::string str(double seconds) const;
  /// Every chart added, in order (what a test or a caller can check against the data).
  const std::vector<Chart>& all_charts() const { return charts_; }

 private:
  std::string title_, head_, body_;
  std::vector<Chart> charts_;
};

}  // namespace minidl::report
