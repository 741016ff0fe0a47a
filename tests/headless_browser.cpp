#include "headless_browser.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/error.h"

namespace minidl::testing {

namespace {

constexpr auto kTimeout = std::chrono::seconds(60);  // a loaded 2-core machine, a sanitized build

std::vector<uint8_t> from_base64(const std::string& text) {
  std::vector<uint8_t> out;
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    int v = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '+'             ? 62
            : c == '/'             ? 63
                                   : -1;
    if (v < 0) continue;  // padding
    bits = (bits << 6) | static_cast<uint32_t>(v);
    if ((count += 6) >= 8) {
      count -= 8;
      out.push_back(static_cast<uint8_t>(bits >> count));
    }
  }
  return out;
}

// A file path as a file: URL (each byte outside the unreserved set percent-encoded).
std::string file_url(const std::string& path) {
  static const char* hex = "0123456789ABCDEF";
  std::string url = "file://";
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~')
      url += static_cast<char>(c);
    else
      url += '%', url += hex[c >> 4], url += hex[c & 15];
  }
  return url;
}

}  // namespace

std::string HeadlessBrowser::find() {
  const char* path = std::getenv("PATH");
  for (const char* name : {"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}) {
    std::stringstream dirs(path ? path : "/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
      const std::string candidate = dir + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  return "";
}

HeadlessBrowser::HeadlessBrowser(const std::string& executable) {
  std::string profile = (std::filesystem::temp_directory_path() / "minidl-chromium-XXXXXX").string();
  check(::mkdtemp(profile.data()) != nullptr, "HeadlessBrowser: cannot make a profile directory");
  profile_dir_ = profile;
  int commands[2], replies[2];
  check(::pipe2(commands, O_CLOEXEC) == 0 && ::pipe2(replies, O_CLOEXEC) == 0, "HeadlessBrowser: pipe failed");
  // Everything the child needs is made before fork(): between fork and exec it may not allocate.
  std::vector<std::string> args = {executable,
                                   "--headless=new",
                                   "--no-sandbox",
                                   "--disable-gpu",
                                   "--remote-debugging-pipe",
                                   "--no-first-run",
                                   "--no-default-browser-check",
                                   "--disable-extensions",
                                   "--disable-background-networking",
                                   "--disable-sync",
                                   "--hide-scrollbars",
                                   "--mute-audio",
                                   "--user-data-dir=" + profile_dir_,
                                   "about:blank"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  pid_ = ::fork();
  check(pid_ >= 0, "HeadlessBrowser: fork failed");
  if (pid_ == 0) {
    // Above 4 first, so that dup2 onto 3 and 4 never meets a descriptor already there.
    const int in = ::fcntl(commands[0], F_DUPFD, 10), out = ::fcntl(replies[1], F_DUPFD, 10);
    if (in < 0 || out < 0 || ::dup2(in, 3) < 0 || ::dup2(out, 4) < 0 || ::dup2(null, 1) < 0 || ::dup2(null, 2) < 0)
      ::_exit(126);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(null);
  ::close(commands[0]);
  ::close(replies[1]);
  to_browser_ = commands[1];
  from_browser_ = replies[0];
  const nlohmann::json target = command("Target.createTarget", {{"url", "about:blank"}}, false);
  const nlohmann::json attached =
      command("Target.attachToTarget", {{"targetId", target.at("targetId")}, {"flatten", true}}, false);
  session_ = attached.at("sessionId").get<std::string>();
  for (const char* domain : {"Page.enable", "Runtime.enable", "Log.enable", "Network.enable"}) command(domain);
}

HeadlessBrowser::~HeadlessBrowser() {
  if (pid_ > 0) {
    try {
      command("Browser.close", nlohmann::json::object(), false);
    } catch (const std::exception&) {  // it may close the pipe before it answers
    }
    int status = 0;
    for (int wait = 0; wait < 100 && ::waitpid(pid_, &status, WNOHANG) == 0; ++wait)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (::waitpid(pid_, &status, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
  }
  if (to_browser_ >= 0) ::close(to_browser_);
  if (from_browser_ >= 0) ::close(from_browser_);
  std::error_code ignored;
  if (!profile_dir_.empty()) std::filesystem::remove_all(profile_dir_, ignored);
}

nlohmann::json HeadlessBrowser::next_message(std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    if (const size_t end = buffer_.find('\0'); end != std::string::npos) {
      const std::string text = buffer_.substr(0, end);
      buffer_.erase(0, end + 1);
      return nlohmann::json::parse(text);
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    check(left.count() > 0, "HeadlessBrowser: no answer from chromium within ", kTimeout.count(), " s");
    pollfd p{from_browser_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char chunk[65536];
    const ssize_t n = ::read(from_browser_, chunk, sizeof chunk);
    check(n > 0, "HeadlessBrowser: chromium closed its pipe (it exited)");
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

nlohmann::json HeadlessBrowser::command(const std::string& method, const nlohmann::json& params, bool in_page) {
  const int id = next_id_++;
  nlohmann::json message = {{"id", id}, {"method", method}, {"params", params}};
  if (in_page) message["sessionId"] = session_;
  const std::string text = message.dump() + '\0';
  // A browser that died must fail the test, not kill it with SIGPIPE.
  struct sigaction ignore {
  }, previous{};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &previous);
  size_t sent = 0;
  while (sent < text.size()) {
    const ssize_t n = ::write(to_browser_, text.data() + sent, text.size() - sent);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  ::sigaction(SIGPIPE, &previous, nullptr);
  check(sent == text.size(), "HeadlessBrowser: cannot send ", method, " to chromium");
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  for (;;) {
    const nlohmann::json reply = next_message(deadline);
    if (!reply.contains("id")) {
      take(reply);
      continue;
    }
    if (reply.at("id").get<int>() != id) continue;
    if (reply.contains("error")) fail("HeadlessBrowser: ", method, ": ", reply.at("error").dump());
    return reply.value("result", nlohmann::json::object());
  }
}

void HeadlessBrowser::take(const nlohmann::json& event) {
  if (event.value("sessionId", "") != session_) return;
  const std::string method = event.value("method", "");
  const nlohmann::json& p = event.contains("params") ? event.at("params") : nlohmann::json::object();
  if (method == "Page.loadEventFired") {
    loaded_ = true;
  } else if (method == "Runtime.exceptionThrown") {
    const auto& d = p.at("exceptionDetails");
    problems_.push_back("uncaught exception: " +
                        (d.contains("exception") ? d.at("exception").value("description", "") : d.value("text", "")));
  } else if (method == "Runtime.consoleAPICalled") {
    const std::string type = p.value("type", "");
    if (type == "error" || type == "assert") problems_.push_back("console." + type + ": " + p.at("args").dump());
  } else if (method == "Log.entryAdded") {
    const auto& e = p.at("entry");
    if (e.value("level", "") == "error")
      problems_.push_back("console (" + e.value("source", "") + "): " + e.value("text", "") + " " + e.value("url", ""));
  } else if (method == "Network.requestWillBeSent") {
    const std::string url = p.at("request").value("url", "");
    if (!url.starts_with("data:") && url != page_url_) problems_.push_back("a request for " + url);
  } else if (method == "Network.loadingFailed") {
    problems_.push_back("a failed request: " + p.value("errorText", "") +
                        (p.value("blockedReason", "").empty() ? "" : " (" + p.value("blockedReason", "") + ")"));
  } else if (method == "Inspector.targetCrashed") {
    problems_.push_back("the page crashed");
  }
}

void HeadlessBrowser::open(const std::string& file, int width, int height, bool mobile, bool dark) {
  width_ = width, height_ = height, mobile_ = mobile;
  command("Emulation.setDeviceMetricsOverride",
          {{"width", width}, {"height", height}, {"deviceScaleFactor", 1}, {"mobile", mobile}});
  command("Emulation.setTouchEmulationEnabled", {{"enabled", mobile}});
  command("Emulation.setEmulatedMedia",
          {{"media", ""}, {"features", {{{"name", "prefers-color-scheme"}, {"value", dark ? "dark" : "light"}}}}});
  problems_.clear();
  loaded_ = false;
  page_url_ = file_url(file);
  const nlohmann::json navigated = command("Page.navigate", {{"url", page_url_}});
  if (navigated.contains("errorText"))
    fail("HeadlessBrowser: cannot open ", file, ": ", navigated.at("errorText").dump());
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  while (!loaded_) take(next_message(deadline));
}

nlohmann::json HeadlessBrowser::evaluate(const std::string& expression) {
  const nlohmann::json r =
      command("Runtime.evaluate", {{"expression", expression}, {"returnByValue", true}, {"awaitPromise", true}});
  if (r.contains("exceptionDetails"))
    fail("HeadlessBrowser: the test's script threw: ", r.at("exceptionDetails").dump());
  return r.at("result").value("value", nlohmann::json());
}

void HeadlessBrowser::move_mouse(double x, double y) {
  command("Input.dispatchMouseEvent", {{"type", "mouseMoved"}, {"x", x}, {"y", y}});
}

void HeadlessBrowser::screenshot(const std::string& png_path, bool full_page, int height) {
  int shot_height = height_;
  if (full_page || height > 0) {
    const nlohmann::json metrics = command("Page.getLayoutMetrics");
    const int content = static_cast<int>(metrics.at("cssContentSize").at("height").get<double>() + 0.5);
    shot_height = std::min(full_page ? content : std::min(content, height), 16384);
    command("Emulation.setDeviceMetricsOverride",
            {{"width", width_}, {"height", shot_height}, {"deviceScaleFactor", 1}, {"mobile", mobile_}});
  }
  const nlohmann::json shot = command("Page.captureScreenshot", {{"format", "png"}});
  if (shot_height != height_)
    command("Emulation.setDeviceMetricsOverride",
            {{"width", width_}, {"height", height_}, {"deviceScaleFactor", 1}, {"mobile", mobile_}});
  const std::vector<uint8_t> png = from_base64(shot.at("data").get<std::string>());
  std::ofstream out(png_path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
  check(out.good(), "HeadlessBrowser: cannot write ", png_path);
}

}  // namespace minidl::testing
