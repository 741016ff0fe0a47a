// What dist's MPI files share, and the only header that includes <mpi.h> (so it is not installed:
// the public headers keep MPI out of a user's include path).
#pragma once

#include <mpi.h>

#include <cstdint>

namespace minidl::distributed::mpi {

/// The communicator collectives run on (a duplicate of MPI_COMM_WORLD, errors returned).
MPI_Comm data_comm();
/// The watchdog's own duplicate: its questions and answers never match a collective's messages.
MPI_Comm watch_comm();

/// Throws PeerError "<what>: <MPI's message>" unless rc is MPI_SUCCESS.
void check_mpi(int rc, const char* what);

/// Numbers the collectives this rank starts (1, 2, …): ranks that call the same collectives in the
/// same order give each the same number, which the watchdog compares.
uint64_t next_collective();

/// Waits for `request` (collective number `seq`, described by `what`) to complete. While waiting it
/// answers other ranks' watchdog questions; after timeout() without completion it asks every other
/// rank where it is and throws PeerError naming those that did not answer.
void watched_wait(MPI_Request& request, uint64_t seq, const char* what);

}  // namespace minidl::distributed::mpi
