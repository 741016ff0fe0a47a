#include "report/language_model.h"

#include <cmath>
#include <cstdio>
#include <new>

#include "core/error.h"
#include "report/bounded_json.h"
#include "report/format.h"

namespace minidl::report {

namespace {

using nlohmann::json;

// ---- reading, every conversion checked (nlohmann's get<> of a value of the wrong kind or range is
// an exception or undefined behaviour; these are Errors saying what is wrong)

const json& array_field(const json& j, const char* key, size_t max) {
  const json& a = j.at(key);
  check(a.is_array(), "'", key, "' is not an array (a ", a.type_name(), ")");
  check(a.size() <= max, "'", key, "' has ", a.size(), " entries, more than the ", max, " a report reads");
  return a;
}

int64_t integer_in(const json& j, const char* key, int64_t lo, int64_t hi) {
  check(j.is_object() && j.contains(key), "'", key, "' is missing");
  const json& v = j.at(key);
  check(v.is_number_integer(), "'", key, "' is not an integer (a ", v.type_name(), ")");
  // nlohmann reads every non-negative integer as unsigned (up to 2^64 − 1): compared as such.
  const bool in_range = v.is_number_unsigned() ? v.get<uint64_t>() <= static_cast<uint64_t>(hi) &&
                                                     (lo <= 0 || v.get<uint64_t>() >= static_cast<uint64_t>(lo))
                                               : v.get<int64_t>() >= lo && v.get<int64_t>() <= hi;
  check(in_range, "'", key, "' is ", v.dump(), ", outside [", lo, ", ", hi, "]");
  return v.get<int64_t>();
}

// A loss: a number, or null for one that was not finite.
double loss(const json& j, const char* key) {
  if (!j.contains(key) || j.at(key).is_null()) return NAN;
  check(j.at(key).is_number(), "'", key, "' is not a number (a ", j.at(key).type_name(), ")");
  return j.at(key).get<double>();
}

// Bytes as an array of integers 0–255.
std::string bytes_of(const json& j, const char* key, size_t max) {
  std::string out;
  for (const json& b : array_field(j, key, max)) {
    check(b.is_number_integer() &&
              (b.is_number_unsigned() ? b.get<uint64_t>() <= 255 : b.get<int64_t>() >= 0 && b.get<int64_t>() <= 255),
          "'", key, "' holds ", b.dump(), ", not a byte (0 to 255)");
    out += static_cast<char>(b.get<int64_t>());
  }
  return out;
}

// An array of exactly n entries.
const json& sized(const json& a, size_t n, const char* what) {
  check(a.is_array() && a.size() == n, "attention 'maps': ", what, " is not an array of ", n);
  return a;
}

// maps[l][h][i][j], each a probability, into one flat vector.
std::vector<float> attention_values(const json& maps, int64_t layers, int64_t heads, size_t t) {
  std::vector<float> out;
  out.reserve(static_cast<size_t>(layers * heads) * t * t);
  for (const json& layer : sized(maps, static_cast<size_t>(layers), "the whole"))
    for (const json& head : sized(layer, static_cast<size_t>(heads), "a layer"))
      for (const json& row : sized(head, t, "a head"))
        for (const json& p : sized(row, t, "a row")) {
          check(p.is_number() && p.get<double>() >= 0 && p.get<double>() <= 1, "attention 'maps' holds ", p.dump(),
                ", not a probability");
          out.push_back(p.get<float>());
        }
  return out;
}

LanguageModelRun::Attention attention_of(const json& a) {
  check(a.is_object(), "'attention' is not an object");
  LanguageModelRun::Attention att;
  att.step = integer_in(a, "step", 0, INT64_MAX);
  att.layers = integer_in(a, "layers", 1, kMaxAttentionMaps);
  att.heads = integer_in(a, "heads", 1, kMaxAttentionMaps);
  check(att.layers * att.heads <= static_cast<int64_t>(kMaxAttentionMaps), "'attention' has ", att.layers, "×",
        att.heads, " maps, more than the ", kMaxAttentionMaps, " a report reads");
  att.model_layers = integer_in(a, "model_layers", att.layers, 1 << 20);
  att.model_heads = integer_in(a, "model_heads", att.heads, 1 << 20);
  att.window = bytes_of(a, "window", kMaxAttentionWindow);
  check(!att.window.empty(), "the attention 'window' is empty");
  check(a.contains("maps"), "'attention' has no 'maps'");
  att.maps = attention_values(a.at("maps"), att.layers, att.heads, att.window.size());
  return att;
}

void read_into(const json& j, LanguageModelRun& lm) {
  if (j.contains("evals"))
    for (const json& e : array_field(j, "evals", size_t{1} << 20)) {
      check(e.is_object(), "an evaluation is not an object");
      lm.evaluations.push_back({integer_in(e, "step", 0, INT64_MAX), loss(e, "train_loss"), loss(e, "val_loss")});
    }
  if (j.contains("samples"))
    for (const json& s : array_field(j, "samples", kMaxSamples)) {
      check(s.is_object(), "a sample is not an object");
      lm.samples.push_back({integer_in(s, "step", 0, INT64_MAX), bytes_of(s, "bytes", kMaxSampleBytes)});
    }
  if (j.contains("sample_prompt")) lm.sample_prompt = bytes_of(j, "sample_prompt", kMaxSampleBytes);
  if (j.contains("sample_seed")) lm.sample_seed = integer_in(j, "sample_seed", 0, INT64_MAX);
  if (j.contains("sample_temperature")) lm.sample_temperature = loss(j, "sample_temperature");
  if (j.contains("attention")) lm.attention = attention_of(j.at("attention"));
}

// ---- drawing

// A byte as an axis label: a visible stand-in for space, newline and tab, xHH for the rest.
std::string label_of(char c) {
  if (c == ' ') return "␣";
  if (c == '\n') return "↵";
  if (c == '\t') return "⇥";
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u < 0x7f) return escape_html(std::string(1, c));
  char hex[8];
  std::snprintf(hex, sizeof hex, "x%02x", u);
  return hex;
}

std::string labels_of(const std::string& bytes) {
  std::string out;
  for (char c : bytes) out += label_of(c);
  return out;
}

Chart loss_chart(const LanguageModelRun& lm) {
  Series train{.name = "training (random windows)", .color = 0, .markers = true};
  Series val{.name = "validation (random windows)", .color = 1, .markers = true};
  for (const auto& e : lm.evaluations) {
    train.x.push_back(static_cast<double>(e.step)), train.y.push_back(e.train_loss);
    val.x.push_back(static_cast<double>(e.step)), val.y.push_back(e.val_loss);
  }
  return {.id = "loss-evals",
          .title = "Loss at each evaluation",
          .note =
              "The mean cross-entropy of random windows of each split, measured in evaluation mode every "
              "few steps. A gap that widens is overfitting.",
          .x = {.label = "step", .integer = true},
          .y = {.label = "cross-entropy (nats per byte)", .log = true},
          .series = {train, val}};
}

void add_samples(Page& page, const LanguageModelRun& lm) {
  page.section("Samples", "samples",
               std::to_string(lm.samples.empty() ? 0 : lm.samples.front().bytes.size()) +
                   " bytes drawn at each evaluation after the prompt " + code(labels_of(lm.sample_prompt)) +
                   " at temperature " + general(lm.sample_temperature) + ", with the same seed (" +
                   std::to_string(lm.sample_seed) +
                   ") every time: they differ only by the weights. Bytes that are not printable ASCII show as "
                   "\\xHH (↵ is a newline, ␣ a space).");
  if (lm.samples.empty()) page.html("<p class=\"notice\">This run recorded no samples.</p>\n");
  for (const auto& s : lm.samples)
    page.html("<h3>Step " + std::to_string(s.step) + "</h3>\n<pre class=\"sample\"><span class=\"prompt\">" +
              visible_bytes(lm.sample_prompt) + "</span>" + visible_bytes(s.bytes) + "</pre>\n");
}

// One head's map as inline SVG: row i (the position attending, left) against column j (the position
// attended to, top), each cell's opacity its weight; the bytes label both axes.
std::string heatmap_svg(const LanguageModelRun::Attention& a, int64_t l, int64_t h) {
  const int64_t t = static_cast<int64_t>(a.window.size()), cell = 14, margin = 18, size = margin + t * cell + 2;
  std::string svg = "<svg viewBox=\"0 0 " + std::to_string(size) + " " + std::to_string(size) +
                    "\" role=\"img\"><title>layer " + std::to_string(l) + ", head " + std::to_string(h) +
                    "</title>\n<rect class=\"frame\" x=\"" + std::to_string(margin) + "\" y=\"" +
                    std::to_string(margin) + "\" width=\"" + std::to_string(t * cell) + "\" height=\"" +
                    std::to_string(t * cell) + "\"/>\n";
  for (int64_t i = 0; i < t; ++i) {
    const std::string label = label_of(a.window[static_cast<size_t>(i)]);
    const std::string at = std::to_string(margin + i * cell + cell / 2);
    svg += "<text x=\"" + std::to_string(margin - 3) + "\" y=\"" + at + "\" dy=\"0.35em\" text-anchor=\"end\">" +
           label + "</text><text x=\"" + at + "\" y=\"" + std::to_string(margin - 4) + "\" text-anchor=\"middle\">" +
           label + "</text>\n";
    for (int64_t j = 0; j <= i; ++j) {
      const float p = a.maps[static_cast<size_t>(((l * a.heads + h) * t + i) * t + j)];
      if (p < 0.005f) continue;  // invisible: left out to keep the page small
      svg += "<rect class=\"p\" x=\"" + std::to_string(margin + j * cell) + "\" y=\"" +
             std::to_string(margin + i * cell) + "\" width=\"" + std::to_string(cell) + "\" height=\"" +
             std::to_string(cell) + "\" fill-opacity=\"" + fixed(p, 3) + "\"><title>" + label + " → " +
             label_of(a.window[static_cast<size_t>(j)]) + ": " + fixed(p, 3) + "</title></rect>\n";
    }
  }
  return svg + "</svg>";
}

void add_attention(Page& page, const LanguageModelRun& lm) {
  const LanguageModelRun::Attention& a = lm.attention;
  page.section("Attention", "attention",
               a.layers == 0 ? std::string()
                             : "What each head attends to in the first " + std::to_string(a.window.size()) +
                                   " bytes of the validation split, after step " + std::to_string(a.step) +
                                   ": row i (left) is the byte whose next byte is predicted, its cells the "
                                   "softmax weights it gives the bytes up to itself (top); darker is more. "
                                   "Above the diagonal nothing: the attention is causal. Hover a cell for its "
                                   "weight.");
  if (a.layers == 0) {
    page.html("<p class=\"notice\">This run recorded no attention maps.</p>\n");
    return;
  }
  if (a.layers < a.model_layers || a.heads < a.model_heads)
    page.html("<p class=\"notice\">The first " + std::to_string(a.layers) + " of " + std::to_string(a.model_layers) +
              " layers and " + std::to_string(a.heads) + " of " + std::to_string(a.model_heads) +
              " heads: the summary keeps at most " + std::to_string(kMaxAttentionMaps) + " maps.</p>\n");
  for (int64_t l = 0; l < a.layers; ++l) {
    std::string row = "<h3>Layer " + std::to_string(l) + "</h3>\n<div class=\"attention\">\n";
    for (int64_t h = 0; h < a.heads; ++h)
      row += "<figure class=\"attention\" data-layer=\"" + std::to_string(l) + "\" data-head=\"" + std::to_string(h) +
             "\"><figcaption>head " + std::to_string(h) + "</figcaption>" + heatmap_svg(a, l, h) + "</figure>\n";
    page.html(row + "</div>\n");
  }
}

}  // namespace

std::string visible_bytes(const std::string& bytes) {
  std::string out;
  for (char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n' || c == '\t' || (u >= 0x20 && u < 0x7f)) {
      out += escape_html(std::string(1, c));
    } else {
      char hex[40];
      std::snprintf(hex, sizeof hex, "<span class=\"byte\">\\x%02x</span>", u);
      out += hex;
    }
  }
  return out;
}

LanguageModelRun read_language_model(const RunSummary& run) {
  const std::string path = run.source.empty() ? "the run" : run.source;
  LanguageModelRun lm;
  try {
    read_into(parse_report_json(run.json, path, "a run summary"), lm);
  } catch (const json::exception& e) {
    fail("report: ", path, ": not a language model's run summary (", e.what(), ")");
  } catch (const std::bad_alloc&) {
    fail("report: ", path, ": out of memory reading it as a run summary");
  } catch (const Error& e) {
    if (std::string_view(e.what()).starts_with("report: ")) throw;
    fail("report: ", path, ": ", e.what());
  }
  return lm;
}

void add_language_model_sections(const RunSummary& run, Page& page) {
  const LanguageModelRun lm = read_language_model(run);
  if (!lm.evaluations.empty()) {
    page.section("Loss by step", "evaluations", "Hover over the chart (or tap it) to read its values.");
    page.charts({loss_chart(lm)});
  }
  add_samples(page, lm);
  add_attention(page, lm);
}

}  // namespace minidl::report
