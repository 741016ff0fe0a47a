// What the launcher told this process through its environment, read without MPI: a build without
// MPI started by mpirun can still tell that it was asked to be one of several ranks.
#include <cstdlib>

#include "distributed/world.h"

namespace minidl::distributed {

namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  return *end == '\0' && n >= 0 && n < (1 << 24) ? static_cast<int>(n) : fallback;
}

}  // namespace

// Open MPI's mpirun, then PMIx and PMI (Slurm's srun, MPICH's hydra).
int launched_world_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"})
    if (const int n = env_int(name, 0); n > 0) return n;
  return 1;
}

int launched_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"})
    if (const int r = env_int(name, -1); r >= 0) return r;
  return 0;
}

}  // namespace minidl::distributed
