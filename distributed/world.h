// The processes of a data-parallel run: MPI's world, as minidl sees it. A launcher (mpirun) starts
// N copies of a program; init() joins them into one world of ranks 0 … N−1. Without init(), and in
// a build without MPI, the world is this process alone (rank 0 of 1), so code written for N ranks
// runs unchanged on one.
//
// Failure is an exception, never an abort: MPI reports errors to minidl (MPI_ERRORS_RETURN), and a
// collective that waits longer than timeout() for the other ranks ends in PeerError naming the
// ranks that did not answer (the watchdog, distributed/mpi_watchdog.cpp).
#pragma once

#include <string>

#include <minidl/core/error.h>

namespace minidl::distributed {

/// Whether this build contains MPI (CMake found it: MINIDL_MPI).
bool is_built();
/// Why this build cannot join a world of several processes, in words; empty when it can.
std::string unavailable_reason();

/// The number of processes the launcher started alongside this one, read from its environment
/// (OMPI_COMM_WORLD_SIZE, PMIX_SIZE or PMI_SIZE); 1 when no launcher started it. Needs no MPI, so a
/// build without it can tell that it was asked for more than it can do.
int launched_world_size();
/// This process's rank among them (0 when alone), from the same environment.
int launched_rank();

/// Joins the world (MPI_Init_thread with MPI_THREAD_FUNNELED: only the thread that called init
/// talks to MPI). Throws Error in a build without MPI, naming unavailable_reason().
void init();
bool is_initialized();
/// Leaves the world (MPI_Finalize). Call it only when every rank ends normally: MPI_Finalize
/// waits for the others, so a rank that failed should exit without it (the launcher then ends
/// the job; see docs/distributed.md).
void finalize();

/// This process's rank, 0 … world_size() − 1 (0 when the world is this process alone).
int rank();
int world_size();
/// Rank and count among the ranks on this machine (what picks a rank's GPU).
int local_rank();
int local_size();

/// How long a collective may wait for the other ranks before the watchdog gives up: by default
/// 60 seconds, or MINIDL_DIST_TIMEOUT (seconds) when set.
double timeout();
void set_timeout(double seconds);

/// A collective that cannot complete: another rank died, hung, or called a different collective
/// (what() names the ranks), or MPI reported an error (what() has MPI's message).
class PeerError : public Error {
 public:
  using Error::Error;
};

}  // namespace minidl::distributed
