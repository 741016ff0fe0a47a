// The world over MPI: joining it, who is who, and the watchdog's timeout.
#include <cstdlib>
#include <string>

#include "distributed/mpi_detail.h"
#include "distributed/world.h"

namespace minidl::distributed {

namespace {

struct World {
  bool initialized = false;
  int rank = 0, size = 1, local_rank = 0, local_size = 1;
  MPI_Comm data = MPI_COMM_NULL, watch = MPI_COMM_NULL;
  double timeout = 60;
} world;

}  // namespace

namespace mpi {

MPI_Comm data_comm() { return world.data; }
MPI_Comm watch_comm() { return world.watch; }

void check_mpi(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(rc, text, &length) != MPI_SUCCESS) length = 0;
  throw PeerError(
      minidl::str_cat(what, ": MPI error ", rc, length ? ": " : "", std::string(text, static_cast<size_t>(length))));
}

}  // namespace mpi

bool is_built() { return true; }
std::string unavailable_reason() { return ""; }

void init() {
  if (world.initialized) return;
  if (const char* t = std::getenv("MINIDL_DIST_TIMEOUT"); t && *t) {
    char* end = nullptr;
    const double seconds = std::strtod(t, &end);
    check(*end == '\0' && seconds > 0, "distributed::init: MINIDL_DIST_TIMEOUT must be a number of seconds > 0, got '", t,
          "'");
    world.timeout = seconds;
  }
  int provided = 0;
  // FUNNELED: OpenMP's threads compute, only the thread that called init() calls MPI.
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    throw PeerError("distributed::init: MPI_Init_thread failed");
  // From here on MPI returns errors instead of aborting the job from inside a library call.
  mpi::check_mpi(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "distributed::init");
  mpi::check_mpi(MPI_Comm_rank(MPI_COMM_WORLD, &world.rank), "distributed::init");
  mpi::check_mpi(MPI_Comm_size(MPI_COMM_WORLD, &world.size), "distributed::init");
  mpi::check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &world.data), "distributed::init");
  mpi::check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &world.watch), "distributed::init");
  MPI_Comm local = MPI_COMM_NULL;
  mpi::check_mpi(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, world.rank, MPI_INFO_NULL, &local),
                 "distributed::init");
  mpi::check_mpi(MPI_Comm_rank(local, &world.local_rank), "distributed::init");
  mpi::check_mpi(MPI_Comm_size(local, &world.local_size), "distributed::init");
  MPI_Comm_free(&local);
  world.initialized = true;
}

bool is_initialized() { return world.initialized; }

void finalize() {
  if (!world.initialized) return;
  MPI_Comm_free(&world.data);
  MPI_Comm_free(&world.watch);
  MPI_Finalize();
  world = World{.timeout = world.timeout};
}

int rank() { return world.rank; }
int world_size() { return world.size; }
int local_rank() { return world.local_rank; }
int local_size() { return world.local_size; }

double timeout() { return world.timeout; }
void set_timeout(double seconds) {
  check(seconds > 0, "distributed::set_timeout: seconds must be > 0, got ", seconds);
  world.timeout = seconds;
}

}  // namespace minidl::distributed
