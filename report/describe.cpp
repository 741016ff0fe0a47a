#include "report/describe.h"

#include "report/format.h"
#include "report/page.h"

namespace minidl::report {

namespace {

// A setting as text, whatever its JSON type: "mlp", "0.01", "[256]".
std::string text_of(const nlohmann::json& j, const char* key) {
  if (!j.contains(key)) return "";
  const nlohmann::json& v = j.at(key);
  return v.is_string() ? v.get<std::string>() : v.is_number_float() ? general(v.get<double>()) : v.dump();
}

}  // namespace

nlohmann::json settings_json(const RunSummary& run) {
  nlohmann::json j = nlohmann::json::parse(run.config, nullptr, /*allow_exceptions=*/false);
  return j.is_object() ? j : nlohmann::json::object();
}

std::string model_name(const Describer& d, const RunSummary& run) {
  if (d.model_name) return d.model_name(run);
  const std::string model = text_of(settings_json(run), "model");
  return model.empty() ? "model" : model;
}

Facts settings_facts(const Describer& d, const RunSummary& run) {
  if (d.settings) return d.settings(run);
  const nlohmann::json j = settings_json(run);
  Facts rows{{"Model", code(model_name(d, run))}};
  if (j.contains("optimizer")) rows.emplace_back("Optimizer", code(optimizer_line(d, run)));
  if (const std::string schedule = text_of(j, "schedule"); !schedule.empty())
    rows.emplace_back("Learning rate", escape_html(schedule + " schedule"));
  return rows;
}

std::string optimizer_line(const Describer& d, const RunSummary& run) {
  if (d.optimizer) return d.optimizer(run);
  const nlohmann::json j = settings_json(run);
  std::string line = text_of(j, "optimizer");
  if (j.contains("lr")) line += " lr " + text_of(j, "lr");
  return line;
}

}  // namespace minidl::report
