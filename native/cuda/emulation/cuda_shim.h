// The CUDA runtime names native/cuda uses, implemented on AMD's HIP-CPU runtime (which runs kernels on
// the CPU: blocks on a thread pool, the threads of a block as fibers, so __shared__ memory,
// __syncthreads and atomics behave as on a GPU). Only the emulation build includes this, through the
// cuda_runtime*.h / cuda_fp16.h headers beside it; nvcc builds use the real CUDA headers.
//
// Error values are CUDA's own numbers, so cuda_check.h classifies them exactly as on a GPU. Every call
// first asks fault_injection.h whether a test wants it to fail: that is how the error paths (sticky
// errors, a failed enqueue, out of memory) are exercised without a broken GPU.
#pragma once

#include <hip/hip_runtime.h>

#include <cstdint>
#include <cstring>
#include <string>

#define YOLO_TRT_HIP_CPU 1
#define CUDART_VERSION 13000

enum cudaError {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInitializationError = 3,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInsufficientDriver = 35,
  cudaErrorCallRequiresNewerDriver = 36,
  cudaErrorStubLibrary = 34,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorSystemDriverMismatch = 803,
  cudaErrorCompatNotSupportedOnDevice = 804,
  cudaErrorECCUncorrectable = 214,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorNotReady = 600,
  cudaErrorIllegalAddress = 700,
  cudaErrorLaunchOutOfResources = 701,
  cudaErrorLaunchTimeout = 702,
  cudaErrorAssert = 710,
  cudaErrorHardwareStackError = 714,
  cudaErrorIllegalInstruction = 715,
  cudaErrorMisalignedAddress = 716,
  cudaErrorInvalidAddressSpace = 717,
  cudaErrorInvalidPc = 718,
  cudaErrorLaunchFailure = 719,
  cudaErrorUnknown = 999,
};
using cudaError_t = cudaError;

using cudaStream_t = hipStream_t;
using cudaEvent_t = hipEvent_t;

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};
constexpr unsigned cudaStreamDefault = 0;
constexpr unsigned cudaStreamNonBlocking = 1;
constexpr unsigned cudaEventDefault = 0;
constexpr unsigned cudaEventDisableTiming = 2;
constexpr unsigned cudaHostAllocDefault = 0;

#include "fault_injection.h"

namespace yolo::emulation::detail {

inline cudaError_t from_hip(hipError_t e) {
  switch (e) {
    case hipSuccess:
      return cudaSuccess;
    case hipErrorInvalidValue:
      return cudaErrorInvalidValue;
    case hipErrorOutOfMemory:
      return cudaErrorMemoryAllocation;
    case hipErrorInvalidDevice:
      return cudaErrorInvalidDevice;
    case hipErrorNotReady:
      return cudaErrorNotReady;
    default:
      return cudaErrorUnknown;
  }
}

// An injected fault for `call`, or else the HIP call's own result.
template <class F>
cudaError_t run(const char* call, F&& f) {
  const cudaError_t injected = take_fault(call);
  if (injected != cudaSuccess) return injected;
  return from_hip(f());
}

// Synchronizations always wait for real, even when a fault is injected or the context is "lost": the
// emulated kernels keep running on the CPU and must not outlive the buffers the caller frees next.
template <class F>
cudaError_t run_wait(const char* call, F&& f) {
  const cudaError_t real = from_hip(f());
  const cudaError_t injected = take_fault(call);
  return injected != cudaSuccess ? injected : real;
}

}  // namespace yolo::emulation::detail

inline const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
#define YOLO_TRT_ERROR_NAME(n) \
  case n:                      \
    return #n;
    YOLO_TRT_ERROR_NAME(cudaSuccess)
    YOLO_TRT_ERROR_NAME(cudaErrorInvalidValue)
    YOLO_TRT_ERROR_NAME(cudaErrorMemoryAllocation)
    YOLO_TRT_ERROR_NAME(cudaErrorInitializationError)
    YOLO_TRT_ERROR_NAME(cudaErrorInvalidConfiguration)
    YOLO_TRT_ERROR_NAME(cudaErrorInsufficientDriver)
    YOLO_TRT_ERROR_NAME(cudaErrorCallRequiresNewerDriver)
    YOLO_TRT_ERROR_NAME(cudaErrorStubLibrary)
    YOLO_TRT_ERROR_NAME(cudaErrorNoDevice)
    YOLO_TRT_ERROR_NAME(cudaErrorInvalidDevice)
    YOLO_TRT_ERROR_NAME(cudaErrorSystemDriverMismatch)
    YOLO_TRT_ERROR_NAME(cudaErrorCompatNotSupportedOnDevice)
    YOLO_TRT_ERROR_NAME(cudaErrorECCUncorrectable)
    YOLO_TRT_ERROR_NAME(cudaErrorInvalidResourceHandle)
    YOLO_TRT_ERROR_NAME(cudaErrorNotReady)
    YOLO_TRT_ERROR_NAME(cudaErrorIllegalAddress)
    YOLO_TRT_ERROR_NAME(cudaErrorLaunchOutOfResources)
    YOLO_TRT_ERROR_NAME(cudaErrorLaunchTimeout)
    YOLO_TRT_ERROR_NAME(cudaErrorAssert)
    YOLO_TRT_ERROR_NAME(cudaErrorHardwareStackError)
    YOLO_TRT_ERROR_NAME(cudaErrorIllegalInstruction)
    YOLO_TRT_ERROR_NAME(cudaErrorMisalignedAddress)
    YOLO_TRT_ERROR_NAME(cudaErrorInvalidAddressSpace)
    YOLO_TRT_ERROR_NAME(cudaErrorInvalidPc)
    YOLO_TRT_ERROR_NAME(cudaErrorLaunchFailure)
    YOLO_TRT_ERROR_NAME(cudaErrorUnknown)
#undef YOLO_TRT_ERROR_NAME
  }
  return "cudaErrorUnknown";
}
inline const char* cudaGetErrorString(cudaError_t e) {
  return e == cudaSuccess ? "no error" : "emulated CUDA error";
}

inline cudaError_t cudaSetDevice(int device) {
  return yolo::emulation::detail::run("cudaSetDevice", [&] { return hipSetDevice(device); });
}
inline cudaError_t cudaGetDevice(int* device) {
  return yolo::emulation::detail::run("cudaGetDevice", [&] { return hipGetDevice(device); });
}
inline cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  return yolo::emulation::detail::run("cudaMalloc", [&] {
    yolo::emulation::count_allocation();
    return hipMalloc(ptr, bytes);
  });
}
inline cudaError_t cudaFree(void* ptr) {
  return yolo::emulation::detail::run("cudaFree", [&] {
    yolo::emulation::count_free();
    return hipFree(ptr);
  });
}
inline cudaError_t cudaHostAlloc(void** ptr, size_t bytes, unsigned) {
  return yolo::emulation::detail::run("cudaHostAlloc", [&] { return hipHostMalloc(ptr, bytes); });
}
inline cudaError_t cudaFreeHost(void* ptr) {
  return yolo::emulation::detail::run("cudaFreeHost", [&] { return hipHostFree(ptr); });
}
inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                                   cudaStream_t stream) {
  return yolo::emulation::detail::run("cudaMemcpyAsync", [&] {
    return hipMemcpyAsync(dst, src, bytes, static_cast<hipMemcpyKind>(kind), stream);
  });
}
inline cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t stream) {
  return yolo::emulation::detail::run("cudaMemsetAsync",
                                      [&] { return hipMemsetAsync(dst, value, bytes, stream); });
}
inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags) {
  return yolo::emulation::detail::run(
      "cudaStreamCreate", [&] { return hipStreamCreateWithFlags(stream, static_cast<hipStreamFlags>(flags)); });
}
inline cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  return yolo::emulation::detail::run("cudaStreamDestroy", [&] { return hipStreamDestroy(stream); });
}
inline cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  yolo::emulation::count_stream_sync();
  return yolo::emulation::detail::run_wait("cudaStreamSynchronize",
                                           [&] { return hipStreamSynchronize(stream); });
}
inline cudaError_t cudaStreamQuery(cudaStream_t stream) {
  return yolo::emulation::detail::run("cudaStreamQuery", [&] { return hipStreamQuery(stream); });
}
inline cudaError_t cudaDeviceSynchronize() {
  return yolo::emulation::detail::run_wait("cudaDeviceSynchronize", [&] { return hipDeviceSynchronize(); });
}
inline cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned flags) {
  return yolo::emulation::detail::run(
      "cudaEventCreate", [&] { return hipEventCreateWithFlags(event, static_cast<hipEventFlags>(flags)); });
}
inline cudaError_t cudaEventDestroy(cudaEvent_t event) {
  return yolo::emulation::detail::run("cudaEventDestroy", [&] { return hipEventDestroy(event); });
}
inline cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  return yolo::emulation::detail::run("cudaEventRecord", [&] { return hipEventRecord(event, stream); });
}
inline cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  return yolo::emulation::detail::run("cudaEventElapsedTime",
                                      [&] { return hipEventElapsedTime(ms, start, end); });
}
// A launch error is reported here (the kernel helper calls it after every launch).
inline cudaError_t cudaGetLastError() {
  return yolo::emulation::detail::run("cudaGetLastError", [&] { return hipGetLastError(); });
}

// Device intrinsics HIP-CPU lacks.
inline uint32_t __float_as_uint(float v) {
  uint32_t u;
  std::memcpy(&u, &v, sizeof(u));
  return u;
}
inline float __uint_as_float(uint32_t u) {
  float v;
  std::memcpy(&v, &u, sizeof(v));
  return v;
}
