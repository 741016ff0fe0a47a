// Headless Chromium driven over the DevTools protocol on a pipe, for the report tests: no node, no
// Python, no WebDriver, only the browser (Debian's `chromium`). With --remote-debugging-pipe the
// browser reads commands on its fd 3 and writes replies and events on its fd 4, each message one
// JSON object ended by a NUL byte. A page is opened at a given size and colour scheme, and every
// uncaught exception, console error (the browser's own included: a refused or failed load logs
// one), failed request and request for anything but the page itself or a data: URI is kept, so a
// test can demand there were none; the test's own script is then evaluated in the page, and
// screenshots are saved as PNG files.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace minidl::testing {

class HeadlessBrowser {
 public:
  /// The Chromium executable on PATH (chromium, chromium-browser, google-chrome), or "".
  static std::string find();

  /// Starts the browser with an empty tab; throws minidl::Error when it cannot.
  explicit HeadlessBrowser(const std::string& executable);
  ~HeadlessBrowser();
  HeadlessBrowser(const HeadlessBrowser&) = delete;
  HeadlessBrowser& operator=(const HeadlessBrowser&) = delete;

  /// Opens `file` (an absolute path) in a viewport of width × height CSS pixels, as a phone
  /// (`mobile`: touch, the viewport meta tag honoured) or not, in the dark colour scheme or the
  /// light one, and waits for its load event. Forgets the problems of the page before.
  void open(const std::string& file, int width, int height, bool mobile, bool dark);
  /// What went wrong on the page so far: exceptions, console errors, failed or outside requests.
  const std::vector<std::string>& problems() const { return problems_; }
  /// The value of a JavaScript expression evaluated in the page (a Promise is awaited).
  nlohmann::json evaluate(const std::string& expression);
  /// Moves the mouse to (x, y) in CSS pixels of the viewport.
  void move_mouse(double x, double y);
  /// Saves a PNG of the viewport, or of the whole page (`full_page`), or of the page from its top
  /// down to `height` CSS pixels when height > 0.
  void screenshot(const std::string& png_path, bool full_page, int height = 0);

 private:
  nlohmann::json command(const std::string& method, const nlohmann::json& params = nlohmann::json::object(),
                         bool in_page = true);
  nlohmann::json next_message(std::chrono::steady_clock::time_point deadline);
  void take(const nlohmann::json& event);

  pid_t pid_ = -1;
  int to_browser_ = -1, from_browser_ = -1;
  std::string profile_dir_, buffer_, session_, page_url_;
  int next_id_ = 1;
  bool loaded_ = false;
  int width_ = 0, height_ = 0;
  bool mobile_ = false;
  std::vector<std::string> problems_;
};

}  // namespace minidl::testing
