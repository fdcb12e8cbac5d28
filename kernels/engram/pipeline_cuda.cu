// pipeline_cuda.cu — CUDA pieces of the Engram prefetch pipeline (specs/engram.md §9 steps 3–4): a
// pinned host table and staging buffer (cudaHostAlloc), a device arena, and the H2D copy on its own
// non-blocking stream. The copy thread waits on the stream, so copy time is the DMA's, measured.
#include <cuda_runtime.h>

#include "kernels/cuda/check.cuh"

namespace v4lab::kernels {

void* engram_pipeline_pinned_alloc(size_t bytes) {
  void* p = nullptr;
  V4LAB_CUDA_CHECK(cudaHostAlloc(&p, bytes ? bytes : 1, cudaHostAllocDefault));
  return p;
}
void engram_pipeline_pinned_free(void* p) {
  if (p) cudaFreeHost(p);
}
void* engram_pipeline_device_alloc(size_t bytes) {
  void* p = nullptr;
  V4LAB_CUDA_CHECK(cudaMalloc(&p, bytes ? bytes : 1));
  return p;
}
void engram_pipeline_device_free(void* p) {
  if (p) cudaFree(p);
}
void* engram_pipeline_stream_create() {
  cudaStream_t s = nullptr;
  V4LAB_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  return s;
}
void engram_pipeline_stream_destroy(void* s) {
  if (s) cudaStreamDestroy(static_cast<cudaStream_t>(s));
}
void engram_pipeline_copy_h2d_sync(void* dst, const void* src, size_t bytes, void* stream) {
  auto s = static_cast<cudaStream_t>(stream);
  V4LAB_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s));
  V4LAB_CUDA_CHECK(cudaStreamSynchronize(s));
}
void engram_pipeline_copy_d2h(void* dst, const void* src, size_t bytes) {
  V4LAB_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}

}  // namespace v4lab::kernels
