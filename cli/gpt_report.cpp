// How `minidl train --model gpt` runs are described in their reports (cli/report.h): what the
// summary's settings string (GptSettings, cli/train_gpt.h) and model config (nn::GPTConfig) mean,
// which only the program knows. The sections themselves are the library's (report/language_model.h).
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/report.h"
#include "cli/train_gpt.h"
#include "nn/gpt.h"
#include "optim/options.h"
#include "report/format.h"
#include "report/language_model.h"

namespace minidl::cli {

namespace {

using report::code, report::escape_html, report::fixed, report::general;

// The summary's fields (it was read as JSON already; an unreadable one gives an empty object).
nlohmann::json fields(const report::RunSummary& r) {
  nlohmann::json j = nlohmann::json::parse(r.json, nullptr, /*allow_exceptions=*/false);
  return j.is_object() ? j : nlohmann::json::object();
}

std::string text_field(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j.at(key).is_string() ? j.at(key).get<std::string>() : "";
}

double number_field(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j.at(key).is_number() ? j.at(key).get<double>() : NAN;
}

// An integer as written, "?" when the field is no integer (never a cast of an arbitrary double).
std::string integer_text(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j.at(key).is_number_integer() ? j.at(key).dump() : "?";
}

std::optional<GptSettings> settings_of(const nlohmann::json& j) {
  try {
    return GptSettings::parse(text_field(j, "settings"), "the summary");
  } catch (const std::exception&) {
    return std::nullopt;  // the facts then show the settings as written
  }
}

std::optional<nn::GPTConfig> config_of(const nlohmann::json& j) {
  try {
    return nn::GPTConfig::parse(text_field(j, "config"), "the summary");
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string optimizer_text(const GptSettings& s) {
  return "AdamW lr " + optim::format_option(s.lr) + " betas (0.9, 0.99) weight_decay " +
         optim::format_option(s.weight_decay) + " on 2-D weights";
}

std::string schedule_text(const GptSettings& s) {
  if (s.schedule == "none") return "constant";
  return str_cat(s.warmup, " warm-up steps from 0 to ", optim::format_option(s.lr), ", then a cosine down to ",
                 optim::format_option(s.min_lr), " at step ", s.steps);
}

report::Facts settings_facts(const report::RunSummary& r) {
  const nlohmann::json j = fields(r);
  const std::optional<GptSettings> s = settings_of(j);
  const std::optional<nn::GPTConfig> c = config_of(j);
  report::Facts rows{{"Model", code(text_field(j, "config")) + ", " + integer_text(j, "parameters") +
                                   " parameters, the output layer tied to the token embedding"}};
  if (!s) {
    rows.emplace_back("Settings", code(text_field(j, "settings")));
    return rows;
  }
  rows.emplace_back("Optimizer",
                    code(optimizer_text(*s)) +
                        (s->clip_grad_norm > 0 ? "; gradients clipped to a global norm of " + general(s->clip_grad_norm)
                                               : std::string()));
  rows.emplace_back("Learning rate", escape_html(schedule_text(*s)));
  rows.emplace_back("Data", code(s->data) + ", batches of " + str_cat(s->batch_size) + " random windows of " +
                                (c ? str_cat(c->block) : std::string("block")) + " bytes; an evaluation every " +
                                str_cat(s->eval_every) + " steps over " + str_cat(s->eval_batches) +
                                " batches of each split (the first 90% trains, the last 10% validates)");
  rows.emplace_back("Seed", escape_html(str_cat(s->seed,
                                                " (weights from seed, batches seed + 1, dropout seed + 2, "
                                                "samples seed + 4)")));
  return rows;
}

}  // namespace

report::Describer gpt_describer() {
  return {.model_name =
              [](const report::RunSummary& r) {
                const std::optional<GptSettings> s = settings_of(fields(r));
                return s ? s->model : std::string("gpt");
              },
          .settings = settings_facts,
          .optimizer =
              [](const report::RunSummary& r) {
                const std::optional<GptSettings> s = settings_of(fields(r));
                return s ? optimizer_text(*s) : std::string("AdamW");
              },
          .headline =
              [](const report::RunSummary& r) {
                return "validation loss " + fixed(number_field(fields(r), "val_loss"), 4);
              },
          .result =
              [](const report::RunSummary& r) {
                const nlohmann::json j = fields(r);
                const double val = number_field(j, "val_loss");
                return "<span class=\"big\">" + fixed(val, 4) + "</span> validation loss (nats per byte; " +
                       fixed(val / std::log(2.0), 3) + " bits per byte) after step " + integer_text(j, "steps");
              },
          .sections = report::add_language_model_sections,
          .classifier = false};
}

report::Written write_gpt_report(const std::string& summary_text, const std::string& summary_path,
                                 const std::string& path, bool quiet) {
  report::RunSummary run = report::summary_from_text(summary_text, summary_path.empty() ? "the run" : summary_path);
  run.source = summary_path;
  const report::Written w = report::write(run, path, {.describer = gpt_describer()});
  if (!quiet) print_written(w);
  return w;
}

}  // namespace minidl::cli
