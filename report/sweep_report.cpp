// A sweep's report, from its --out directory: final accuracy and training loss against the lr per
// optimizer (mean over seeds, spread shaded), sweep.md's table and basins, and the runs at each
// optimizer's best lr drawn as a comparison (report/comparison.h).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "core/error.h"
#include "data/atomic_file.h"
#include "data/file_bytes.h"
#include "report/comparison.h"
#include "report/format.h"
#include "report/report.h"

namespace minidl::report {

namespace {

// A file of a sweep's directory, as a report reads it: a regular file (a FIFO is refused at once,
// never waited on) of at most 64 MiB.
std::string sweep_file(const std::string& path, const char* what) {
  const std::vector<uint8_t> bytes = data::read_file(path, "report", size_t{64} << 20, what);
  return std::string(bytes.begin(), bytes.end());
}

// One lr of one optimizer: its seeds' results.
struct Point {
  std::vector<double> accuracy, train_loss;
  int diverged = 0;
};

// sweep.csv: optimizer,lr,seed,status,final_test_accuracy,final_test_loss,final_train_loss,…
struct SweepTable {
  std::vector<std::string> order;                         // the optimizers, as they first appear
  std::map<std::string, std::map<double, Point>> points;  // optimizer → lr → its seeds
  std::map<std::string, std::string> lr_text;             // optimizer + lr → the lr as the CSV writes it
  std::set<uint64_t> seeds;
};

std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> f;
  std::stringstream ss(line);
  for (std::string item; std::getline(ss, item, ',');) f.push_back(item);
  return f;
}

SweepTable read_sweep_csv(const std::string& dir) {
  check(std::filesystem::exists(dir + "/sweep.csv"), "report: ", dir,
        " holds no sweep.csv (not a sweep's --out directory)");
  std::istringstream csv(sweep_file(dir + "/sweep.csv", "a sweep's CSV"));
  SweepTable t;
  std::string line;
  std::getline(csv, line);
  check(line.starts_with("optimizer,lr,seed,status,final_test_accuracy"), "report: ", dir,
        "/sweep.csv: not a sweep's CSV");
  while (std::getline(csv, line)) {
    const std::vector<std::string> f = csv_fields(line);
    if (f.size() < 7) continue;
    if (std::find(t.order.begin(), t.order.end(), f[0]) == t.order.end()) t.order.push_back(f[0]);
    const double lr = std::strtod(f[1].c_str(), nullptr);
    t.lr_text[f[0] + "@" + general(lr)] = f[1];
    t.seeds.insert(std::strtoull(f[2].c_str(), nullptr, 10));
    Point& p = t.points[f[0]][lr];
    if (f[3] != "ok") {
      ++p.diverged;
      continue;
    }
    p.accuracy.push_back(100 * std::strtod(f[4].c_str(), nullptr));
    p.train_loss.push_back(std::strtod(f[6].c_str(), nullptr));
  }
  check(!t.order.empty(), "report: ", dir, "/sweep.csv has no runs yet");
  return t;
}

// The mean over the seeds at x, and their spread.
void add_point(Series& s, double x, const std::vector<double>& v) {
  double sum = 0;
  for (double value : v) sum += value;
  s.x.push_back(x), s.y.push_back(sum / static_cast<double>(v.size()));
  s.lo.push_back(*std::min_element(v.begin(), v.end())), s.hi.push_back(*std::max_element(v.begin(), v.end()));
}

// Accuracy and loss against the lr (charts[0], charts[1]); the runs at each optimizer's best lr.
struct SweepCharts {
  std::vector<Chart> charts;
  std::vector<RunSummary> best_runs;
};

SweepCharts sweep_charts(const SweepTable& t, const std::string& dir) {
  Chart accuracy{.id = "sweep-accuracy",
                 .title = "Final test accuracy against the learning rate",
                 .x = {.label = "learning rate", .log = true},
                 .y = {.label = "final test accuracy (%)", .cap = 100}};
  Chart loss{.id = "sweep-loss",
             .title = "Final training loss against the learning rate",
             .x = {.label = "learning rate", .log = true},
             .y = {.label = "cross-entropy (nats)", .log = true}};
  std::string diverged;
  SweepCharts out;
  for (size_t k = 0; k < t.order.size(); ++k) {
    const std::string& name = t.order[k];
    Series a{.name = name, .color = static_cast<int>(k % 8), .markers = true}, l = a;
    double best_lr = NAN, best = -1;
    for (const auto& [lr, p] : t.points.at(name)) {
      if (p.diverged)
        diverged += (diverged.empty() ? "" : "; ") + name + " at lr " + general(lr) + " (" +
                    std::to_string(p.diverged) + " of " + std::to_string(p.diverged + p.accuracy.size()) + " seeds)";
      if (p.accuracy.empty() || p.diverged) continue;
      add_point(a, lr, p.accuracy), add_point(l, lr, p.train_loss);
      if (a.y.back() > best) best = a.y.back(), best_lr = lr;
    }
    accuracy.series.push_back(a), loss.series.push_back(l);
    if (!std::isfinite(best_lr)) continue;
    // The runs at this optimizer's best lr, for their curves: runs/<stem>-lr<lr>-seed<seed>.json.
    for (uint64_t seed : t.seeds) {
      const std::string file = dir + "/runs/" + file_stem(name) + "-lr" + t.lr_text.at(name + "@" + general(best_lr)) +
                               "-seed" + std::to_string(seed) + ".json";
      if (std::filesystem::exists(file)) out.best_runs.push_back(read_summary(file));
    }
  }
  const std::string spread = t.seeds.size() > 1 ? " Lines: the mean over seeds; shaded: lowest to highest seed." : "";
  accuracy.note = "Each point is one lr of the grid." + spread +
                  (diverged.empty() ? "" : " Diverged (left out): " + diverged + ".");
  loss.note = "The training loss of the last epoch." + spread;
  out.charts = {accuracy, loss};
  return out;
}

// sweep.md as HTML: its Markdown tables as tables, its other lines as paragraphs.
std::string markdown_tables_html(std::istream& md) {
  std::string html, table;
  const auto flush_table = [&] {
    if (!table.empty()) html += "<div class=\"scroll\"><table class=\"data\">" + table + "</table></div>\n";
    table.clear();
  };
  for (std::string row; std::getline(md, row);) {
    if (!row.starts_with("|")) {
      flush_table();
      if (!row.empty()) html += "<p>" + escape_html(row) + "</p>\n";
      continue;
    }
    if (row.starts_with("|---")) continue;
    const bool header = table.empty();
    table += "<tr>";
    std::stringstream cells(row.substr(1));
    for (std::string cell; std::getline(cells, cell, '|');) {
      const size_t a = cell.find_first_not_of(' '), b = cell.find_last_not_of(' ');
      table += (header ? "<th>" : "<td>") + escape_html(a == std::string::npos ? "" : cell.substr(a, b - a + 1)) +
               (header ? "</th>" : "</td>");
    }
    table += "</tr>";
  }
  flush_table();
  return html;
}

std::string sweep_heading(const SweepTable& t) {
  return "minidl sweep: " + std::to_string(t.order.size()) + " optimizers × " +
         std::to_string(t.points.at(t.order.front()).size()) + " lrs × " + std::to_string(t.seeds.size()) +
         (t.seeds.size() == 1 ? " seed" : " seeds");
}

}  // namespace

Written write_sweep(const std::string& dir, const std::string& path, const Describer& describer) {
  const auto start = std::chrono::steady_clock::now();
  data::check_output_target(path, "report");
  const SweepTable table = read_sweep_csv(dir);
  const SweepCharts sweep = sweep_charts(table, dir);
  std::vector<const RunSummary*> best;  // each optimizer at its best lr
  for (const RunSummary& r : sweep.best_runs) best.push_back(&r);
  Page page("minidl sweep", sweep_heading(table), best.empty() ? dir : settings_subtitle(best, describer));
  page.section("Accuracy against the learning rate", "sweep",
               "How sensitive each optimizer is to its lr: a wide plateau near the top is a forgiving optimizer. "
               "Hover over a chart (or tap it) to read its values.");
  page.charts(sweep.charts);
  if (std::filesystem::exists(dir + "/sweep.md")) {
    std::istringstream md(sweep_file(dir + "/sweep.md", "a sweep's table"));
    page.section("The table and the basins", "table", "As written to sweep.md.");
    page.html(markdown_tables_html(md));
  }
  if (!sweep.best_runs.empty()) {
    page.section("The runs at each optimizer's best lr", "best", "");
    page.html(runs_table(group_runs(sweep.best_runs, describer)));
    add_comparison(page, group_runs(sweep.best_runs, describer));
  }
  return finish(page, path, start);
}

}  // namespace minidl::report
