// threads.h — how many threads the _cpu kernels' OpenMP regions use (1 without OpenMP).
#pragma once
#if defined(_OPENMP)
#include <omp.h>
#endif

namespace v4lab::kernels {

inline int max_threads() {
#if defined(_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace v4lab::kernels
