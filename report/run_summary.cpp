#include "report/run_summary.h"

#include <algorithm>
#include <filesystem>
#include <new>

#include "core/error.h"
#include "data/file_bytes.h"
#include "report/bounded_json.h"

namespace minidl::report {

namespace {

std::vector<float> floats(const nlohmann::json& array) {
  std::vector<float> out;
  out.reserve(array.size());
  for (const auto& v : array) out.push_back(v.is_number() ? v.get<float>() : NAN);  // null: not finite
  return out;
}

// An integer field of `j`, or `fallback` when absent. A number that is no integer (2e44, 1.5) is an
// Error: nlohmann's get<int64_t> of a double out of range is undefined behaviour (found by
// tests/fuzz/fuzz_summary.cpp).
int64_t integer(const nlohmann::json& j, const char* key, int64_t fallback) {
  if (!j.is_object()) return fallback;
  const auto it = j.find(key);
  if (it == j.end()) return fallback;
  check(it->is_number_integer(), "'", key, "' is not an integer (a ", it->type_name(), ")");
  return it->get<int64_t>();
}

EpochRecord epoch_from_json(const nlohmann::json& e) {
  check(e.is_object() && e.contains("epoch"), "an epoch without its number");
  return {.epoch = integer(e, "epoch", 0),
          .steps = integer(e, "steps", 0),
          .skipped = integer(e, "skipped_steps", 0),
          .train_loss = e.value("train_loss", NAN),
          .test_loss = e.value("test_loss", NAN),
          .test_accuracy = e.value("test_accuracy", NAN),
          .train_seconds = e.value("train_seconds", 0.0),
          .eval_seconds = e.value("eval_seconds", 0.0),
          .lr = e.value("lr", NAN)};
}

// One of run::Summary's evaluations as a row of the run's table: its step, the training loss since
// the one before, and the held-out loss and accuracy under either name a run gives them.
EpochRecord evaluation_from_json(const nlohmann::json& e, size_t index) {
  const int64_t epoch = integer(e, "epoch", 0);
  return {.epoch = epoch > 0 ? epoch : static_cast<int64_t>(index) + 1,
          .steps = integer(e, "step", 0),
          .skipped = integer(e, "skipped_steps", 0),
          .train_loss = e.value("train_loss", NAN),
          .test_loss = e.value("test_loss", e.value("val_loss", NAN)),
          .test_accuracy = e.value("test_accuracy", e.value("accuracy", NAN)),
          .train_seconds = e.value("train_seconds", 0.0),
          .eval_seconds = e.value("eval_seconds", 0.0),
          .lr = e.value("lr", NAN)};
}

// The fields of a summary object into `r` (nlohmann's exceptions for a field of the wrong type).
void read_fields(const nlohmann::json& j, RunSummary& r) {
  // A run by epochs has "epochs"; a run by steps (a language model's) may have "steps" alone.
  check(j.is_object() && j.contains("config") && (j.contains("epochs") || j.contains("steps")),
        "not a run summary (minidl train --summary writes one: it has 'config', and 'epochs' or 'steps')");
  // A language model's run writes its settings in its own notation (a string its describer reads).
  check(j.at("config").is_object() || j.at("config").is_string(), "its 'config' is neither an object nor a string");
  r.config = j.at("config").is_object() ? j.at("config").dump() : "{}";
  r.device = j.value("device", "cpu");
  r.blas_core = j.value("blas_core", "");
  r.threads = static_cast<int>(std::clamp<int64_t>(integer(j, "threads", 0), 0, 1 << 20));
  if (j.contains("epochs"))
    for (const auto& e : j.at("epochs")) r.epochs.push_back(epoch_from_json(e));
  r.final_accuracy = j.value("final_test_accuracy", NAN);
  r.command = j.value("command", "");
  r.started = j.value("started", "");
  r.description = j.value("description", "");
  r.first_step = integer(j, "first_step", 1);
  if (j.contains("steps") && j.at("steps").is_number()) {
    if (j.contains("train_seconds") && j.at("train_seconds").is_number())
      r.step_seconds = j.at("train_seconds").get<double>();
    // run::Summary's layout (run/summary.h): the steps taken, every step's loss and lr at the top
    // level, and its evaluations, each drawn as an epoch's row is (at the step it was made).
    if (j.contains("step_loss")) r.step_loss = floats(j.at("step_loss"));
    if (j.contains("step_lr")) r.step_lr = floats(j.at("step_lr"));
    if (j.contains("evaluations"))
      for (const auto& e : j.at("evaluations")) r.epochs.push_back(evaluation_from_json(e, r.epochs.size()));
  } else if (j.contains("steps")) {
    r.step_loss = floats(j.at("steps").at("loss"));
    r.step_lr = floats(j.at("steps").at("lr"));
  }
  check(r.step_lr.size() == r.step_loss.size(), "steps: ", r.step_loss.size(), " losses but ", r.step_lr.size(),
        " lrs");
  r.telemetry = j.value("telemetry", "");
  r.checkpoint = j.value("checkpoint", "");
  r.resumed_after_epoch = integer(j, "resumed_after_epoch", 0);
}

}  // namespace

double RunSummary::train_seconds() const {
  if (epochs.empty() && std::isfinite(step_seconds)) return step_seconds;
  double s = 0;
  for (const EpochRecord& e : epochs) s += e.train_seconds;
  return s;
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

RunSummary read_summary(const std::string& path) {
  const std::vector<uint8_t> bytes = data::read_file(path, "report", kMaxSummaryBytes, "a run summary");
  return summary_from_text(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path);
}

RunSummary summary_from_text(std::string_view text, const std::string& path) {
  RunSummary r;
  r.source = path;
  try {
    read_fields(parse_report_json(text, path, "a run summary"), r);
    r.json = std::string(text);
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

std::string file_named_by(const RunSummary& summary, const std::string& named, std::string* why_not) {
  namespace fs = std::filesystem;
  if (named.empty()) return "";
  if (summary.source.empty()) return fs::exists(named) ? named : "";
  std::error_code ec;
  const fs::path dir = fs::weakly_canonical(fs::absolute(fs::path(summary.source).parent_path(), ec), ec);
  for (const fs::path& candidate :
       {fs::path(named), fs::path(summary.source).parent_path() / fs::path(named).filename()}) {
    if (!fs::exists(candidate, ec)) continue;
    // Never opened, so never waited on or read endlessly: a FIFO, /dev/zero, a directory.
    if (const fs::file_status st = fs::status(candidate, ec); !fs::is_regular_file(st))
      fail("report: ", summary.source, " names ", candidate.string(), ", which is not a regular file (",
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

}  // namespace minidl::report
