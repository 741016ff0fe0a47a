// The watchdog: every wait for a collective is bounded. A rank that has waited timeout() seconds
// asks every other rank, on a communicator of its own, which collective it is in; ranks that are
// themselves waiting answer at once, so after a short grace the ones that did not answer are dead
// or hung (or busy elsewhere for over a timeout), and ranks that answer with another collective's
// number called collectives in a different order. Either way the waiting rank throws PeerError
// naming them; its program exits non-zero and the launcher ends the job, so nothing hangs forever.
//
// Waiting polls MPI_Test rather than blocking in MPI_Wait, so that the rank can answer questions
// and watch the clock: it spins for the first ~100 µs (a reduction between ranks in step takes
// tens of µs) and then sleeps 20 µs between polls, leaving the core to ranks still computing when
// there are more ranks than cores.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "distributed/mpi_detail.h"
#include "distributed/world.h"

namespace minidl::distributed::mpi {

namespace {

constexpr int kQuestion = 1, kAnswer = 2;

// What a rank says about itself: the collective it waits in (0: none), and its description.
struct Position {
  uint64_t seq = 0;
  uint64_t question = 0;  // in an answer: the asker's seq, so that stale answers are recognized
  char what[120] = {};    // a bucket's description fits; still below every MPI's eager limit
};

Position current;  // this rank's, while it waits
uint64_t collectives = 0;

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

void nap() {
  const timespec t{0, 20'000};
  nanosleep(&t, nullptr);
}

// Answers every question waiting in the queue with this rank's position. The messages are a few
// dozen bytes, below every MPI's eager limit: MPI_Send returns without the other side's help.
void answer_questions() {
  for (;;) {
    int waiting = 0;
    MPI_Status status;
    if (MPI_Iprobe(MPI_ANY_SOURCE, kQuestion, watch_comm(), &waiting, &status) != MPI_SUCCESS || !waiting) return;
    Position asked;
    MPI_Recv(&asked, sizeof asked, MPI_BYTE, status.MPI_SOURCE, kQuestion, watch_comm(), MPI_STATUS_IGNORE);
    Position answer = current;
    answer.question = asked.seq;
    MPI_Send(&answer, sizeof answer, MPI_BYTE, status.MPI_SOURCE, kAnswer, watch_comm());
  }
}

std::string rank_list(const std::vector<int>& ranks) {
  std::string s = ranks.size() == 1 ? "rank " : "ranks ";
  for (size_t i = 0; i < ranks.size(); ++i)
    s += (i == 0 ? "" : i + 1 == ranks.size() ? " and " : ", ") + std::to_string(ranks[i]);
  return s;
}

// The timeout passed: ask the others, give them `grace` seconds, and report. Returns normally only
// if the collective completed meanwhile (it was slow, not stuck).
void diagnose(MPI_Request& request, double waited) {
  const int me = rank(), n = world_size();
  for (int r = 0; r < n; ++r)
    if (r != me) MPI_Send(&current, sizeof current, MPI_BYTE, r, kQuestion, watch_comm());
  std::vector<int> answered(static_cast<size_t>(n), 0);
  std::vector<Position> where(static_cast<size_t>(n));
  answered[static_cast<size_t>(me)] = 1;
  const double grace = std::clamp(timeout() / 4, 0.5, 5.0);
  for (const double until = now() + grace; now() < until;) {
    int done = 0;
    check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), current.what);
    if (done) return;
    answer_questions();
    int waiting = 0;
    MPI_Status status;
    while (MPI_Iprobe(MPI_ANY_SOURCE, kAnswer, watch_comm(), &waiting, &status) == MPI_SUCCESS && waiting) {
      Position answer;
      MPI_Recv(&answer, sizeof answer, MPI_BYTE, status.MPI_SOURCE, kAnswer, watch_comm(), MPI_STATUS_IGNORE);
      if (answer.question != current.seq) continue;  // an answer to an earlier question
      answered[static_cast<size_t>(status.MPI_SOURCE)] = 1;
      where[static_cast<size_t>(status.MPI_SOURCE)] = answer;
    }
    if (std::count(answered.begin(), answered.end(), 0) == 0) break;
    nap();
  }
  std::vector<int> silent, same, elsewhere;
  for (int r = 0; r < n; ++r) {
    if (r == me) continue;
    if (!answered[static_cast<size_t>(r)])
      silent.push_back(r);
    else if (where[static_cast<size_t>(r)].seq == current.seq)
      same.push_back(r);
    else
      elsewhere.push_back(r);
  }
  std::string message = minidl::str_cat("rank ", me, ": no progress for ", static_cast<int>(waited + 0.5), " s in ",
                                        current.what, " (collective #", current.seq, ")");
  if (!silent.empty())
    message += minidl::str_cat("; ", rank_list(silent), " did not answer within ", grace,
                               " s (dead or hung; the watchdog's timeout is ", timeout(), " s, MINIDL_DIST_TIMEOUT)");
  for (int r : elsewhere) {
    const Position& p = where[static_cast<size_t>(r)];
    message += p.seq == 0 ? minidl::str_cat("; rank ", r, " answered from outside any collective")
                          : minidl::str_cat("; rank ", r, " is waiting in collective #", p.seq, " (", p.what,
                                            "): the ranks called different collectives");
  }
  if (!same.empty()) message += "; " + rank_list(same) + (same.size() == 1 ? " is" : " are") + " waiting here too";
  throw PeerError(message);
}

}  // namespace

uint64_t next_collective() { return ++collectives; }

void watched_wait(MPI_Request& request, uint64_t seq, const char* what) {
  current.seq = seq;
  std::strncpy(current.what, what, sizeof current.what - 1);
  struct Idle {  // answers say "outside any collective" once this wait is over
    ~Idle() { current.seq = 0; }
  } idle;
  const double start = now();
  double next_look = start;
  for (long polls = 0;; ++polls) {
    int done = 0;
    check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), what);
    if (done) return;
    if (polls < 200) continue;  // spin first: most waits end within microseconds
    nap();
    if (const double t = now(); t >= next_look) {  // every 10 ms: questions, and the clock
      answer_questions();
      if (t - start >= timeout()) diagnose(request, t - start);
      if (t - start >= timeout()) return;  // diagnose() returned: the collective completed after all
      next_look = t + 0.01;
    }
  }
}

}  // namespace minidl::distributed::mpi
