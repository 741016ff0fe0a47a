#include "cli/run_record.h"

#include <algorithm>
#include <cstdio>
#include <new>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "data/file_bytes.h"

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

std::vector<float> floats(const nlohmann::json& array) {
  std::vector<float> out;
  out.reserve(array.size());
  for (const auto& v : array) out.push_back(v.is_number() ? v.get<float>() : NAN);  // null: not finite
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

nlohmann::json parse_report_json(std::string_view text, const std::string& path, const char* what) {
  constexpr int kMaxDepth = 64;
  const auto bounded = [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
    check(depth <= kMaxDepth, "report: ", path, ": not ", what, " (nested more than ", kMaxDepth, " levels deep)");
    return true;
  };
  try {
    return nlohmann::json::parse(text, bounded);
  } catch (const nlohmann::json::parse_error& e) {
    fail("report: ", path, ": not ", what, " (invalid JSON at byte ", e.byte, ")");
  } catch (const std::bad_alloc&) {
    fail("report: ", path, ": out of memory parsing it as ", what);
  }
}

RunRecord read_run_record(const std::string& path) {
  const std::vector<uint8_t> bytes = data::read_file(path, "report", kMaxSummaryBytes, "a run summary");
  return run_record_from_text(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path);
}

RunRecord run_record_from_text(std::string_view text, const std::string& path) {
  RunRecord r;
  r.source = path;
  try {
    const auto j = parse_report_json(text, path, "a run summary");
    check(j.is_object() && j.contains("config") && j.contains("epochs"),
          "not a run summary (minidl train --summary writes one: it has 'config' and 'epochs')");
    r.config = train_config_from_json(j.at("config").dump(), path);
    r.device = j.value("device", "cpu");
    r.blas_core = j.value("blas_core", "");
    r.threads = j.value("threads", 0);
    for (const auto& e : j.at("epochs"))
      r.epochs.push_back({.epoch = e.at("epoch").get<int64_t>(),
                          .steps = e.value("steps", int64_t{0}),
                          .skipped = e.value("skipped_steps", int64_t{0}),
                          .train_loss = e.value("train_loss", NAN),
                          .test_loss = e.value("test_loss", NAN),
                          .test_accuracy = e.value("test_accuracy", NAN),
                          .train_seconds = e.value("train_seconds", 0.0),
                          .eval_seconds = e.value("eval_seconds", 0.0),
                          .lr = e.value("lr", NAN)});
    r.final_accuracy = j.value("final_test_accuracy", NAN);
    r.command = j.value("command", "");
    r.started = j.value("started", "");
    r.description = j.value("description", "");
    r.first_step = j.value("first_step", int64_t{1});
    if (j.contains("steps")) {
      r.step_loss = floats(j.at("steps").at("loss"));
      r.step_lr = floats(j.at("steps").at("lr"));
      check(r.step_lr.size() == r.step_loss.size(), "steps: ", r.step_loss.size(), " losses but ", r.step_lr.size(),
            " lrs");
    }
    r.telemetry = j.value("telemetry", "");
    r.checkpoint = j.value("checkpoint", "");
    r.resumed_after_epoch = j.value("resumed_after_epoch", int64_t{0});
  } catch (const nlohmann::json::exception& e) {
    fail("report: ", path, ": not a run summary (", e.what(), ")");
  } catch (const std::bad_alloc&) {
    fail("report: ", path, ": out of memory reading it as a run summary");
  } catch (const Error& e) {
    if (std::string_view(e.what()).starts_with("report: ")) throw;
    fail("report: ", path, ": ", e.what());
  }
  return r;
}

std::string file_named_by(const RunRecord& record, const std::string& named, std::string* why_not) {
  namespace fs = std::filesystem;
  if (named.empty()) return "";
  if (record.source.empty()) return fs::exists(named) ? named : "";
  std::error_code ec;
  const fs::path dir = fs::weakly_canonical(fs::absolute(fs::path(record.source).parent_path(), ec), ec);
  for (const fs::path& candidate : {fs::path(named), fs::path(record.source).parent_path() / fs::path(named).filename()}) {
    if (!fs::exists(candidate, ec)) continue;
    // Never opened, so never waited on or read endlessly: a FIFO, /dev/zero, a directory.
    if (const fs::file_status st = fs::status(candidate, ec); !fs::is_regular_file(st))
      fail("report: ", record.source, " names ", candidate.string(), ", which is not a regular file (",
           fs::is_directory(st) ? "a directory"
           : fs::is_fifo(st)    ? "a FIFO"
                                : "a device or socket",
           "); give the summary of a run whose files are regular files");
    const fs::path real = fs::weakly_canonical(candidate, ec);
    const auto [d, r] = std::mismatch(dir.begin(), dir.end(), real.begin(), real.end());
    if (!ec && d == dir.end() && r != real.end()) return candidate.string();
    if (why_not && why_not->empty())
      *why_not = str_cat(candidate.string(), " is outside the summary's directory ", dir.string(),
                         "; report reads only the files beside a summary");
  }
  return "";
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
