#include "report/page.h"

#include <cstdio>

#include "data/image.h"
#include "report/chart_json.h"

namespace minidl::report {

// The page's style and script: report/assets/report.css and report.js, made string constants by the
// build (report/assets/embed.cmake).
extern const char* const kReportCss;
extern const char* const kReportJs;

std::string escape_html(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '/':
        out += "&#47;";
        break;  // so that no "//" (a network-path reference) can appear
      default:
        out += c;
    }
  }
  return out;
}

std::string base64(std::span<const uint8_t> bytes) {
  static const char* digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out += digits[v >> 18], out += digits[(v >> 12) & 63], out += digits[(v >> 6) & 63], out += digits[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = uint32_t{bytes[i]} << 16;
    out += digits[v >> 18], out += digits[(v >> 12) & 63], out += "==";
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8);
    out += digits[v >> 18], out += digits[(v >> 12) & 63], out += digits[(v >> 6) & 63], out += '=';
  }
  return out;
}

std::string png_data_uri(std::span<const uint8_t> pixels, int width, int height, int channels) {
  const std::vector<uint8_t> png = data::encode_png(pixels, width, height, channels);
  return "data:image/png;base64," + base64(png);
}

Page::Page(const std::string& title, const std::string& heading, const std::string& subtitle)
    : title_(title) {
  head_ =
      "<header><h1>" + escape_html(heading) + "</h1><p class=\"subtitle\">" + escape_html(subtitle) + "</p></header>\n";
}

void Page::section(const std::string& title, const std::string& id, const std::string& intro_html) {
  if (!body_.empty()) body_ += "</section>\n";
  body_ += "<section id=\"" + escape_html(id) + "\"><h2>" + escape_html(title) + "</h2>\n";
  if (!intro_html.empty()) body_ += "<p class=\"intro\">" + intro_html + "</p>\n";
}

void Page::facts(const std::vector<std::pair<std::string, std::string>>& rows) {
  body_ += "<dl class=\"facts\">\n";
  for (const auto& [label, value] : rows) body_ += "<dt>" + escape_html(label) + "</dt><dd>" + value + "</dd>\n";
  body_ += "</dl>\n";
}

void Page::charts(const std::vector<Chart>& charts) {
  body_ += "<div class=\"charts\">\n";
  for (const Chart& c : charts) {
    body_ += "<figure class=\"chart\" id=\"chart-" + escape_html(c.id) + "\" data-chart=\"" + escape_html(c.id) +
             "\"><figcaption>" + escape_html(c.title) +
             "</figcaption><div class=\"plot\"></div><ul class=\"legend\"></ul>";
    if (!c.note.empty()) body_ += "<p class=\"note\">" + escape_html(c.note) + "</p>";
    body_ += "</figure>\n";
    charts_.push_back(c);
  }
  body_ += "</div>\n";
}

void Page::html(const std::string& fragment) { body_ += fragment; }

std::string Page::str(double seconds) const {
  nlohmann::json data = nlohmann::json::object();
  for (const Chart& c : charts_) data[c.id] = to_json(c);
  // In a <script> element "</" would end it early; "\/" and "\u003c" are the same JSON strings
  // (outside strings JSON has neither character).
  std::string json;
  for (char c : data.dump()) {
    if (c == '/')
      json += "\\/";
    else if (c == '<')
      json += "\\u003c";
    else
      json += c;
  }
  char took[64];
  std::snprintf(took, sizeof took, "%.2f", seconds);
  std::string page;
  page.reserve(json.size() + body_.size() + 32768);
  page +=
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      // The file asks for nothing from anywhere: the browser refuses any request but data: images.
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
      "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
      "<meta name=\"generator\" content=\"minidl\">\n<title>" +
      escape_html(title_) + "</title>\n<style>\n" + kReportCss + "</style>\n</head>\n<body>\n<main>\n" + head_ +
      "<noscript><p class=\"notice\">The charts are drawn by this page's own script; with scripts off the rest "
      "of the report still shows.</p></noscript>\n" +
      body_ + (body_.empty() ? "" : "</section>\n") + "<footer>Written by minidl in " + took +
      " s. This file is self-contained: no network, no external scripts, fonts or styles; charts are drawn by "
      "its own script, images are embedded.</footer>\n</main>\n"
      "<script type=\"application/json\" id=\"minidl-data\">" +
      json + "</script>\n<script>\n" + kReportJs + "</script>\n</body>\n</html>\n";
  return page;
}

}  // namespace minidl::report
