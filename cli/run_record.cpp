#include "cli/run_record.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "core/error.h"
#include "report/language_model.h"

namespace minidl::cli {

namespace {

std::string remembered_command = "minidl";

// 5 significant digits: a loss curve needs no more, and a 5-epoch run's 4690 steps stay ~30 KB.
double rounded(double v) {
  if (!std::isfinite(v)) return v;
  char text[32];
  std::snprintf(text, sizeof text, "%.5g", v);
  return std::strtod(text, nullptr);
}

nlohmann::json rounded_array(const std::vector<float>& values) {
  nlohmann::json out = nlohmann::json::array();
  for (float v : values) out.push_back(std::isfinite(v) ? nlohmann::json(rounded(v)) : nlohmann::json(nullptr));
  return out;
}

}  // namespace

double RunRecord::train_seconds() const {
  double s = 0;
  for (const EpochRecord& e : epochs) s += e.train_seconds;
  return s;
}

void add_to_summary(nlohmann::json& summary, const RunRecord& r) {
  summary["command"] = r.command;
  summary["started"] = r.started;
  summary["description"] = r.description;
  summary["first_step"] = r.first_step;
  summary["steps"] = {{"loss", rounded_array(r.step_loss)}, {"lr", rounded_array(r.step_lr)}};
  summary["telemetry"] = r.telemetry;
  summary["checkpoint"] = r.checkpoint;
  summary["resumed_after_epoch"] = r.resumed_after_epoch;
}

report::RunSummary to_summary(const RunRecord& r) {
  return {.source = r.source,
          .command = r.command,
          .started = r.started,
          .description = r.description,
          .config = to_json(r.config),
          .device = r.device,
          .blas_core = r.blas_core,
          .threads = r.threads,
          .epochs = r.epochs,
          .first_step = r.first_step,
          .step_loss = r.step_loss,
          .step_lr = r.step_lr,
          .final_accuracy = r.final_accuracy,
          .telemetry = r.telemetry,
          .checkpoint = r.checkpoint,
          .resumed_after_epoch = r.resumed_after_epoch};
}

TrainConfig config_of(const report::RunSummary& summary) {
  return train_config_from_json(summary.config, summary.source.empty() ? "the run" : summary.source);
}

bool is_gpt_summary(const report::RunSummary& summary) {
  const nlohmann::json j = nlohmann::json::parse(summary.json, nullptr, /*allow_exceptions=*/false);
  return j.is_object() && j.contains("model") && j.at("model") == "gpt";
}

report::RunSummary read_run_summary(const std::string& path) {
  report::RunSummary summary = report::read_summary(path);
  if (is_gpt_summary(summary)) {
    report::read_language_model(summary);  // refuses malformed fields, naming the file
    return summary;
  }
  try {
    config_of(summary);
  } catch (const Error& e) {
    fail("report: ", path, ": ", e.what());
  }
  return summary;
}

void remember_command_line(int argc, char** argv) {
  std::string line;
  for (int i = 0; i < argc; ++i) {
    std::string arg = i == 0 ? "minidl" : argv[i];
    const bool plain = !arg.empty() && arg.find_first_of(" \t\n'\"\\$`*?()[]{}<>|&;#~") == std::string::npos;
    if (!plain) {
      std::string quoted = "'";
      for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
      arg = quoted + "'";
    }
    line += (i ? " " : "") + arg;
  }
  remembered_command = line;
}

const std::string& command_line() { return remembered_command; }

std::string local_time_now() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char text[64];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S %z", &local);
  return text;
}

}  // namespace minidl::cli
