// report_screenshot REPORT.html OUT.png [WIDTH HEIGHT] [--dark]: opens a minidl report in headless
// Chromium exactly as tests/test_seeing.cpp does, refuses (exit 1, listing them) if the page has any
// fault the tests look for, and saves a PNG of its top HEIGHT CSS pixels. scripts/report-screenshot
// makes docs/img/report.png, the README's screenshot, with it.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/error.h"
#include "headless_browser.h"
#include "report_check.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: report_screenshot REPORT.html OUT.png [WIDTH HEIGHT] [--dark]\n");
    return 2;
  }
  const std::string dark_flag = argv[argc - 1];
  const bool dark = dark_flag == "--dark";
  const int numbers = argc - 3 - (dark ? 1 : 0);
  const int width = numbers >= 1 ? std::atoi(argv[3]) : 1280, height = numbers >= 2 ? std::atoi(argv[4]) : 1600;
  try {
    const std::string chromium = minidl::testing::HeadlessBrowser::find();
    if (chromium.empty()) throw minidl::Error("no chromium on PATH (Debian: apt-get install chromium)");
    minidl::testing::HeadlessBrowser browser(chromium);
    browser.open(std::filesystem::absolute(argv[1]).string(), width, 900, width < 600, dark);
    const nlohmann::json seen = minidl::testing::look_at_report(browser);
    const std::vector<std::string> faults = minidl::testing::report_faults(browser, seen);
    for (const std::string& f : faults) std::fprintf(stderr, "report_screenshot: %s\n", f.c_str());
    if (!faults.empty()) return 1;
    browser.screenshot(argv[2], false, height);
    std::printf("report_screenshot: %s (%d px wide, the top %d px; %zu charts)\n", argv[2], width, height,
                seen.at("charts").size());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "report_screenshot: %s\n", e.what());
    return 1;
  }
  return 0;
}
