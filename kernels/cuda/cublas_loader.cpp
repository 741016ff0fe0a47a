#include "kernels/cuda/cublas_loader.h"

#include "kernels/cuda/cuda.h"

#include <dlfcn.h>

#include <atomic>
#include <mutex>

#include "kernels/error.h"

namespace minidl::kernels::cuda {

namespace {

std::atomic<bool> g_loaded{false};

template <class F>
void resolve(void* library, const std::string& path, const char* name, F& out) {
  out = reinterpret_cast<F>(dlsym(library, name));
  check(out != nullptr, "cuBLAS: ", path, " has no function ", name, " (", dlerror(), ")");
}

Cublas load() {
  const std::string soname = "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);
  Cublas c;
  void* library = nullptr;
  std::string errors;
  for (const std::string& candidate : {soname, std::string(MINIDL_CUDA_LIBRARY_DIR) + "/" + soname}) {
    library = dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library) {
      c.path = candidate;
      break;
    }
    errors += (errors.empty() ? "" : "; ") + std::string(dlerror());
  }
  check(library != nullptr, "cuBLAS: cannot load ", soname, " (", errors,
        "); install the CUDA toolkit's cuBLAS or add its directory to LD_LIBRARY_PATH");
  resolve(library, c.path, "cublasCreate_v2", c.create);
  resolve(library, c.path, "cublasSetStream_v2", c.set_stream);
  resolve(library, c.path, "cublasSetMathMode", c.set_math_mode);
  resolve(library, c.path, "cublasSetWorkspace_v2", c.set_workspace);
  resolve(library, c.path, "cublasSgemm_v2", c.sgemm);
  resolve(library, c.path, "cublasSgemmStridedBatched", c.sgemm_strided_batched);
  g_loaded = true;
  return c;  // the library stays loaded for the life of the process
}

}  // namespace

const Cublas& cublas() {
  static const Cublas c = load();  // thread-safe; a failed load throws and is tried again next time
  return c;
}

bool cublas_loaded() { return g_loaded; }

std::string blas_library() { return cublas().path; }
bool blas_loaded() { return cublas_loaded(); }

}  // namespace minidl::kernels::cuda
