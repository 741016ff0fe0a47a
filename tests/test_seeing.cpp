// What minidl shows a user of training (issue 17): the HTML reports of train, compare and
// `minidl report`, drawn by a real browser (headless Chromium over its DevTools pipe; the cases skip
// visibly without one); the tape of a step as DOT and SVG (minidl graph); the digit predict saw,
// drawn in the terminal, and its warning for a dark digit on a light background. Every run is tiny
// (the written dataset of tests/cli_testing.h, 300 images) so that the suite costs seconds.
#include <algorithm>
#include <regex>
#include <sstream>

#include "cli_testing.h"
#include "headless_browser.h"
#include "report_check.h"
#include "testing.h"

using namespace minidl;
using minidl::testing::HeadlessBrowser;
namespace fs = std::filesystem;

namespace {

// The tiny dataset's run: 300 images in batches of 16 (the last one short) for 2 epochs.
constexpr int kEpochs = 2;
constexpr int kStepsPerEpoch = (300 + 15) / 16;
const std::string kTinyRun = "--hidden 32 --epochs 2 --batch-size 16 --threads 1";

// Every URL-like reference in a page, once the data: URIs of its images (base64, where "//" is
// just two digits) are taken out: a self-contained page has none.
std::vector<std::string> urls_in(const std::string& html) {
  const std::string without_data =
      std::regex_replace(html, std::regex("data:[a-z/+.-]+;base64,[A-Za-z0-9+/=]*"), "data:");
  std::vector<std::string> found;
  for (const char* what : {"http:", "https:", "//"})
    for (size_t at = without_data.find(what); at != std::string::npos; at = without_data.find(what, at + 1))
      found.push_back(without_data.substr(at > 30 ? at - 30 : 0, 80));
  return found;
}

// The chart `id` as seen in the page, or null when it is missing.
nlohmann::json chart(const nlohmann::json& seen, const std::string& id) {
  for (const auto& c : seen.at("charts"))
    if (c.at("id") == id) return c;
  return nullptr;
}

std::vector<int64_t> points_of(const nlohmann::json& c) {
  std::vector<int64_t> points;
  if (c.is_null()) return points;
  for (const auto& s : c.at("series")) points.push_back(s.at("points").get<int64_t>());
  return points;
}

// Where screenshots go: the build's tests folder, kept after the run for a person to look at.
std::string screenshot_path(const std::string& name) { return std::string(MINIDL_TEST_OUTPUT_DIR) + "/" + name; }

// Opens `html` in the browser at desktop width (light and dark) and phone width, checking each time
// that nothing failed and saving a screenshot of each (`shot`, `shot`-dark, `shot`-phone-dark .png);
// returns what the desktop light view drew.
nlohmann::json open_everywhere(HeadlessBrowser& browser, const std::string& html, const std::string& shot) {
  nlohmann::json desktop;
  struct View {
    const char* name;
    const char* file;  // the screenshot's suffix
    int width, height;
    bool mobile, dark;
  };
  for (const View& v :
       {View{"1280 px, light", "", 1280, 900, false, false}, View{"1280 px, dark", "-dark", 1280, 900, false, true},
        View{"phone, dark", "-phone-dark", 390, 844, true, true}}) {
    browser.open(html, v.width, v.height, v.mobile, v.dark);
    const nlohmann::json seen = minidl::testing::look_at_report(browser);
    const std::vector<std::string> faults = minidl::testing::report_faults(browser, seen);
    const std::string view = v.name;
    INFO(view);
    std::string listed;  // one string, so that doctest prints what went wrong
    for (const std::string& f : faults) listed += f + "\n";
    CHECK(listed == "");
    if (desktop.is_null()) desktop = seen;
    browser.screenshot(screenshot_path(shot + v.file + ".png"), false, 2400);
  }
  MESSAGE("screenshots: " << screenshot_path(shot + "*.png"));
  return desktop;
}

}  // namespace

TEST_SUITE("seeing") {
  TEST_CASE(
      "train --report writes one self-contained page that names no URL, and minidl report remakes it from the "
      "summary") {
    TinyMnist tiny;
    const Run train =
        run_minidl("train " + tiny.data() + " " + kTinyRun + " --lr 0.05 --save " + (tiny / "ck.safetensors") +
                   " --summary " + (tiny / "run.json") + " --report " + (tiny / "run.html"));
    INFO(train.output);
    REQUIRE(train.code == 0);
    CHECK(train.output.find("report: " + (tiny / "run.html") + " (") != std::string::npos);
    const std::string html = slurp(tiny / "run.html");
    CHECK(html.size() < 3u << 20);
    CHECK(urls_in(html).empty());
    for (const std::string& url : urls_in(html)) MESSAGE("a URL in the report: " << url);
    // The charts by their ids, the model's sections by their markup (the inline style names the classes too).
    for (const char* section : {"data-chart=\"loss-steps\"", "data-chart=\"loss-epochs\"",
                                "data-chart=\"accuracy-epochs\"", "data-chart=\"lr-steps\"",
                                "<table class=\"confusion\">", "The most confident mistakes", "First-layer weights"})
      CHECK(html.find(section) != std::string::npos);

    // Afterwards, from the summary (which names the checkpoint): the same sections, the model included.
    const Run again =
        run_minidl("report " + tiny.data() + " --out " + (tiny / "again.html") + " " + (tiny / "run.json"));
    INFO(again.output);
    REQUIRE(again.code == 0);
    const std::string remade = slurp(tiny / "again.html");
    CHECK(urls_in(remade).empty());
    CHECK(remade.find("data-chart=\"loss-steps\"") != std::string::npos);
    CHECK(remade.find("<table class=\"confusion\">") != std::string::npos);
    // A checkpoint alone: the model's sections (evaluated again on the test set), no curves.
    const Run alone =
        run_minidl("report " + tiny.data() + " --out " + (tiny / "alone.html") + " " + (tiny / "ck.safetensors"));
    INFO(alone.output);
    REQUIRE(alone.code == 0);
    const std::string model_only = slurp(tiny / "alone.html");
    CHECK(model_only.find("No curves: a checkpoint holds the trained weights") != std::string::npos);
    CHECK(model_only.find("First-layer weights") != std::string::npos);
    CHECK(model_only.find("<table class=\"confusion\">") != std::string::npos);
    // A report path in a directory that does not exist is refused before any training.
    const Run bad = run_minidl("train " + tiny.data() + " " + kTinyRun + " --lr 0.05 --report /nonexistent/dir/r.html");
    CHECK(bad.code == 2);
    CHECK(bad.output.find("--report") != std::string::npos);
    CHECK(bad.output.find("epoch 1/") == std::string::npos);
  }

  TEST_CASE(
      "the reports of a short run, a compare and a sweep draw in headless Chromium: every chart, one point per step "
      "and epoch") {
    const std::string chromium = HeadlessBrowser::find();
    if (chromium.empty())
      SKIP_TEST("no chromium on PATH (Debian: apt-get install chromium; scripts/install-deps does)");
    TinyMnist tiny;
    // Plain SGD at a small lr, so that after 2 epochs the easy tiny set still has mistakes to show.
    const Run train = run_minidl("train " + tiny.data() + " " + kTinyRun + " --optimizer sgd --lr 0.002 --save " +
                                 (tiny / "ck.safetensors") + " --telemetry " + (tiny / "telemetry.jsonl") +
                                 " --report " + (tiny / "run.html"));
    INFO(train.output);
    REQUIRE(train.code == 0);
    const Run compare = run_minidl("compare " + tiny.data() +
                                   " --hidden 32 --epochs 2 --batch-size 16 --threads 1 "
                                   "--optimizers sgd,nesterov --seeds 0,1 --out " +
                                   (tiny / "cmp") + " --report " + (tiny / "compare.html"));
    INFO(compare.output);
    REQUIRE(compare.code == 0);

    HeadlessBrowser browser(chromium);
    const nlohmann::json run = open_everywhere(browser, tiny / "run.html", "report-run");
    INFO(run.dump());
    // The loss per step: the raw curve and the smoothed one, one point per step each.
    const std::vector<int64_t> per_step(2, kEpochs * kStepsPerEpoch);
    CHECK(points_of(chart(run, "loss-steps")) == per_step);
    CHECK(points_of(chart(run, "lr-steps")) == std::vector<int64_t>{kEpochs * kStepsPerEpoch});
    CHECK(points_of(chart(run, "loss-epochs")) == std::vector<int64_t>{kEpochs, kEpochs});
    CHECK(points_of(chart(run, "accuracy-epochs")) == std::vector<int64_t>{kEpochs});
    CHECK(run.at("confusion_cells").get<int>() >= 100);
    CHECK(run.at("digits").get<int>() > 0);  // the most confident mistakes
    CHECK(run.at("tiles").get<int>() > 0);   // the first layer's units as 28×28 tiles
    bool telemetry = false;
    for (const auto& c : run.at("charts")) telemetry |= c.at("id").get<std::string>().starts_with("telemetry");
    CHECK(telemetry);
    // Hovering shows the values under the pointer.
    browser.open(tiny / "run.html", 1280, 900, false, false);
    CHECK(minidl::testing::hover(browser, "loss-steps").find("step") != std::string::npos);

    // compare: one curve per optimizer (the mean of 2 seeds), the seeds' spread shaded.
    const nlohmann::json cmp = open_everywhere(browser, tiny / "compare.html", "report-compare");
    INFO(cmp.dump());
    CHECK(points_of(chart(cmp, "accuracy-epochs")) == std::vector<int64_t>{kEpochs, kEpochs});
    CHECK(points_of(chart(cmp, "loss-steps")) == per_step);
    CHECK(chart(cmp, "accuracy-epochs").at("bands").get<int>() == 2);
    CHECK(urls_in(slurp(tiny / "compare.html")).empty());

    // A CNN: its first convolution's filters and the feature maps of one test digit.
    const Run cnn = run_minidl("train " + tiny.data() +
                               " --model 'conv(4,5) relu maxpool(2) flatten linear(10)' --epochs 1 "
                               "--batch-size 16 --threads 1 --report " +
                               (tiny / "cnn.html"));
    INFO(cnn.output);
    REQUIRE(cnn.code == 0);
    const nlohmann::json conv = open_everywhere(browser, tiny / "cnn.html", "report-cnn");
    CHECK(conv.at("tiles").get<int>() == 4 + 4);  // 4 filters, 4 feature maps
    CHECK(slurp(tiny / "cnn.html").find("First convolution&#39;s filters") != std::string::npos);

    // sweep: accuracy against the lr, one line per optimizer with a point per lr of the grid.
    const Run sweep = run_minidl("sweep " + tiny.data() +
                                 " --hidden 32 --epochs 1 --batch-size 16 --optimizers sgd,adam "
                                 "--lr 0.01..0.1 --points 2 --seeds 0,1 --out " +
                                 (tiny / "sweep") + " --report " + (tiny / "sweep.html"));
    INFO(sweep.output);
    REQUIRE(sweep.code == 0);
    const nlohmann::json swept = open_everywhere(browser, tiny / "sweep.html", "report-sweep");
    INFO(swept.dump());
    CHECK(points_of(chart(swept, "sweep-accuracy")) == std::vector<int64_t>{2, 2});
    CHECK(chart(swept, "sweep-accuracy").at("bands").get<int>() == 2);
  }

  TEST_CASE("a GPT run's report draws in headless Chromium: its curves by step and a heatmap per layer and head") {
    const std::string chromium = HeadlessBrowser::find();
    if (chromium.empty())
      SKIP_TEST("no chromium on PATH (Debian: apt-get install chromium; scripts/install-deps does)");
    const fs::path dir = fs::temp_directory_path() / ("minidl-seeing-gpt-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    {
      std::ofstream corpus(dir / "corpus.txt");
      for (int i = 0; i < 200; ++i) corpus << "<b>the cat</b> & the mat " << i % 7 << " // \xff\n";
    }
    const std::string html = (dir / "gpt.html").string();
    const Run train = run_minidl(
        "train --model 'gpt(layers=2,heads=2,embd=16,block=16)' --batch-size 4 --threads 1 "
        "--data text:" +
        (dir / "corpus.txt").string() + " --steps 9 --eval-every 3 --eval-batches 2 --report " + html);
    INFO(train.output);
    REQUIRE(train.code == 0);
    CHECK(urls_in(slurp(html)).empty());  // "//" in the corpus's samples is escaped too
    HeadlessBrowser browser(chromium);
    const nlohmann::json seen = open_everywhere(browser, html, "report-gpt");
    INFO(seen.dump());
    CHECK(points_of(chart(seen, "loss-steps")) == std::vector<int64_t>{9, 9});
    CHECK(points_of(chart(seen, "loss-evals")) == std::vector<int64_t>{3, 3});
    CHECK(browser.evaluate("document.querySelectorAll('figure.attention svg').length").get<int>() == 4);
    // Every drawn cell is on or below the diagonal of its 16 × 16 map, and there is one at least per row.
    CHECK(browser.evaluate("document.querySelectorAll('figure.attention svg rect.p').length").get<int>() >= 4 * 16);
    CHECK(browser.evaluate("document.querySelectorAll('pre.sample').length").get<int>() == 3);
    fs::remove_all(dir);
  }

  TEST_CASE("minidl graph names batch norm's running statistics and dropout's mask, and draws dropout as dropout") {
    TinyMnist scratch;  // only for its temporary directory
    const Run graph = run_minidl(
        "graph --model 'flatten linear(8) batchnorm dropout(0.5) relu linear(10)' --batch-size 4 --format none --out " +
        (scratch / "bn.dot"));
    INFO(graph.output);
    REQUIRE(graph.code == 0);
    const std::string dot = slurp(scratch / "bn.dot");
    CHECK(dot.find("2.running_mean\\n[8]\\nno grad") != std::string::npos);
    CHECK(dot.find("2.running_var\\n[8]\\nno grad") != std::string::npos);
    CHECK(dot.find(" dropout\\n") != std::string::npos);  // its own op, not a mul by a constant
    CHECK(dot.find("saves its mask [4, 8]") != std::string::npos);
    CHECK(dot.find(" mul\\n") == std::string::npos);
  }

  TEST_CASE(
      "minidl graph: the DOT of a known MLP step has the tape's ops, leaves and edges, and an SVG when dot exists") {
    TinyMnist scratch;  // only for its temporary directory
    const Run graph = run_minidl("graph --hidden 16 --batch-size 4 --out " + (scratch / "step.dot"));
    INFO(graph.output);
    REQUIRE(graph.code == 0);
    const std::string dot = slurp(scratch / "step.dot");
    const auto count = [&dot](const std::string& what) {
      size_t n = 0;
      for (size_t at = dot.find(what); at != std::string::npos; at = dot.find(what, at + 1)) ++n;
      return n;
    };
    // 784-16-10 as train runs it: Linear with the ReLU fused in, Linear, cross-entropy: 3 ops. Leaves:
    // the images and the 4 parameters (the labels are saved by cross-entropy, not differentiated
    // through: no box). Edges: 3 into each Linear, 1 into the loss.
    CHECK(graph.output.find("3 ops, 5 leaves, 7 edges") != std::string::npos);
    CHECK(count(" [label=\"#") == 3);
    CHECK(count(" [label=") == 3 + 5);
    CHECK(count(" -> op") == 7);
    CHECK(dot.find("images\\n[4, 784]\\nno grad") != std::string::npos);
    CHECK(dot.find("0.weight\\n[16, 784]\\nrequires grad") != std::string::npos);
    for (const char* op : {"#1 linear", "#2 linear", "#3 cross_entropy"}) CHECK(dot.find(op) != std::string::npos);
    if (fs::exists("/usr/bin/dot") || fs::exists("/usr/local/bin/dot")) {
      CHECK(graph.output.find("rendered " + (scratch / "step.svg")) != std::string::npos);
      CHECK(slurp(scratch / "step.svg").find("<svg") != std::string::npos);
    } else {
      CHECK(graph.output.find("Graphviz's dot is not installed") != std::string::npos);
      MESSAGE("no Graphviz dot: the SVG was not checked");
    }
  }

  TEST_CASE("predict draws the digit it saw, and warns about a dark digit on a light background (both polarities)") {
    TinyMnist tiny(Digits::mnist_prepared);
    const std::string ck = tiny / "ck.safetensors";
    REQUIRE(run_minidl("train " + tiny.data() + " " + kTinyRun + " --lr 0.05 --save " + ck).code == 0);
    // A "3" of the training set's kind, light on dark as MNIST, and its negative (dark on light).
    const auto digit = prepared_image_of(3, 4242);
    std::string light_on_dark = "P5 28 28 255\n", dark_on_light = light_on_dark;
    for (uint8_t p : digit) light_on_dark += static_cast<char>(p), dark_on_light += static_cast<char>(255 - p);
    std::ofstream(tiny / "light.pgm", std::ios::binary) << light_on_dark;
    std::ofstream(tiny / "dark.pgm", std::ios::binary) << dark_on_light;

    const Run light = run_minidl("predict --checkpoint " + ck + " " + (tiny / "light.pgm"));
    INFO(light.output);
    CHECK(light.output.starts_with(tiny / "light.pgm" + ": 3  (probability "));
    CHECK(light.output.find("warning") == std::string::npos);
    // The picture: 28 rows between bars, 56 characters wide; the lit rows 8 and 20 of a "3" are light
    // in columns 4–23 (characters 8–47), where preparing it as MNIST's left them (it already was).
    std::vector<std::string> rows;
    std::stringstream lines(light.output);
    for (std::string line; std::getline(lines, line);)
      if (line.starts_with("  |")) rows.push_back(line.substr(3, 56));
    REQUIRE(rows.size() == 28);
    const auto lit = [](const std::string& row) {
      return static_cast<size_t>(
          std::count_if(row.begin(), row.end(), [](char c) { return c != ' ' && c != '.' && c != ':'; }));
    };
    CHECK(lit(rows[8].substr(8, 40)) == 40);  // the "3"'s lit rows, across its 20-pixel box
    CHECK(lit(rows[20].substr(8, 40)) == 40);
    CHECK(rows[8].substr(0, 8).find_first_not_of(" .:") == std::string::npos);  // dark beside the box
    CHECK(rows[0].find_first_not_of(" .:") == std::string::npos);               // the dark border
    CHECK(light.output.find("fitted into 20×20 and centred by its centre of mass, as MNIST was") != std::string::npos);
    // --raw-resize draws the image as it was given, saying so.
    const Run raw = run_minidl("predict --raw-resize --checkpoint " + ck + " " + (tiny / "light.pgm"));
    CHECK(raw.output.find("the whole image resized (--raw-resize)") != std::string::npos);
    CHECK(light.output.find(" 3  ") != std::string::npos);  // the probabilities beside the picture

    // Dark on light without --invert: warned, naming the fix; with --invert: right, no warning.
    const Run dark = run_minidl("predict --checkpoint " + ck + " " + (tiny / "dark.pgm"));
    INFO(dark.output);
    CHECK(dark.output.find("minidl predict: warning: " + (tiny / "dark.pgm") + " looks dark-on-light") !=
          std::string::npos);
    CHECK(dark.output.find("rerun with --invert") != std::string::npos);
    const Run inverted = run_minidl("predict --invert --checkpoint " + ck + " " + (tiny / "dark.pgm"));
    INFO(inverted.output);
    CHECK(inverted.output.starts_with(tiny / "dark.pgm" + ": 3  (probability "));
    CHECK(inverted.output.find("warning") == std::string::npos);
    // --invert on a light-on-dark image makes it dark-on-light: warned too, the other way round.
    const Run wrong = run_minidl("predict --invert --checkpoint " + ck + " " + (tiny / "light.pgm"));
    CHECK(wrong.output.find("leave out --invert") != std::string::npos);
    const Run quiet = run_minidl("predict --no-picture --checkpoint " + ck + " " + (tiny / "light.pgm"));
    CHECK(quiet.output.find("  |") == std::string::npos);
  }
}
