// SIGINT and SIGTERM during `minidl train`: the first asks the loop to stop after the current step
// (the run then saves where it stands and reports it); a second ends the process at once (the
// default action), for a run that does not respond.
#pragma once

#include <csignal>

namespace minidl::run {

/// The signal that asked the run to stop, or 0.
extern volatile std::sig_atomic_t stop_signal;

/// Installs the handlers for its lifetime (and clears stop_signal); restores the previous ones.
class StopOnSignals {
 public:
  StopOnSignals();
  ~StopOnSignals();
  StopOnSignals(const StopOnSignals&) = delete;
  StopOnSignals& operator=(const StopOnSignals&) = delete;

 private:
  void (*previous_int_)(int);
  void (*previous_term_)(int);
};

/// Under mpirun: once a signal asks the run to stop, writes to stdout and stderr no longer block.
/// mpirun answers SIGTERM by forwarding it and then no longer reading the ranks' output, so a rank
/// writing its last lines would block forever on a full pipe while the others wait for it; with
/// non-blocking output those lines may be lost instead, and the rank goes on to checkpoint and exit.
void make_output_nonblocking_on_stop();

/// "SIGINT" or "SIGTERM".
const char* signal_name(int sig);

/// For tests: when the environment's MINIDL_TEST_PAUSE names `moment`, the process stops itself
/// (SIGSTOP) there, so that a test can signal it at exactly that point (waitpid with WUNTRACED, the
/// signal, then SIGCONT) instead of guessing when the run gets there. Moments: "before-summary"
/// (the last epoch trained, evaluated and saved; the summary and report not yet written).
void pause_for_tests(const char* moment);

}  // namespace minidl::run
