#include "cli/interrupt.h"

namespace minidl::cli {

volatile std::sig_atomic_t stop_signal = 0;

namespace {
extern "C" void request_stop(int sig) {
  if (stop_signal != 0) {
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
  stop_signal = sig;
}
}  // namespace

StopOnSignals::StopOnSignals() {
  stop_signal = 0;
  previous_int_ = std::signal(SIGINT, request_stop);
  previous_term_ = std::signal(SIGTERM, request_stop);
}

StopOnSignals::~StopOnSignals() {
  std::signal(SIGINT, previous_int_);
  std::signal(SIGTERM, previous_term_);
}

const char* signal_name(int sig) { return sig == SIGINT ? "SIGINT" : "SIGTERM"; }

}  // namespace minidl::cli
