#include "run/interrupt.h"

#include <fcntl.h>
#include <unistd.h>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

namespace minidl::run {

volatile std::sig_atomic_t stop_signal = 0;

namespace {
volatile std::sig_atomic_t output_nonblocking_on_stop = 0;

extern "C" void request_stop(int sig) {
  if (stop_signal != 0) {
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
  stop_signal = sig;
  if (output_nonblocking_on_stop)  // fcntl is async-signal-safe; see the header
    for (int fd : {STDOUT_FILENO, STDERR_FILENO}) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}
}  // namespace

void make_output_nonblocking_on_stop() { output_nonblocking_on_stop = 1; }

void pause_for_tests(const char* moment) {
  const char* wanted = std::getenv("MINIDL_TEST_PAUSE");
  if (wanted && std::strcmp(wanted, moment) == 0) std::raise(SIGSTOP);
}

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

}  // namespace minidl::run
