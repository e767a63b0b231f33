// CUDA error handling that throws. Every CUDA runtime call in yolo-trt goes through check(): an error
// becomes a yolo::Error with code ERR_CUDA, or ERR_NO_CUDA_DRIVER when there is no usable driver or
// device (cudart is linked statically, so on a machine without a driver every call returns
// cudaErrorInsufficientDriver instead of failing to load). Never exit() or abort(): we live inside a
// server process.
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "core/error.h"

namespace yolo::cuda {

// True for the errors that mean "no CUDA here" rather than "a CUDA call failed".
inline bool is_no_driver_error(cudaError_t err) {
  return err == cudaErrorInsufficientDriver || err == cudaErrorNoDevice || err == cudaErrorStubLibrary ||
         err == cudaErrorCallRequiresNewerDriver || err == cudaErrorSystemDriverMismatch ||
         err == cudaErrorCompatNotSupportedOnDevice;
}

// "cudaMalloc(input tensor) failed: cudaErrorMemoryAllocation (out of memory)".
inline std::string describe_cuda_error(cudaError_t err, const char* what) {
  return std::string(what) + " failed: " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")";
}

[[noreturn]] inline void throw_cuda_error(cudaError_t err, const char* what) {
  // Reset the non-sticky error state so the next call on this thread does not report it again.
  (void)cudaGetLastError();
  throw Error(is_no_driver_error(err) ? code::kNoCudaDriver : code::kCuda, describe_cuda_error(err, what));
}

inline void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) throw_cuda_error(err, what);
}

// After a kernel launch: launch-configuration errors surface here, execution errors at the next sync.
inline void check_launch(const char* kernel) {
  check(cudaGetLastError(), kernel);
}

}  // namespace yolo::cuda
