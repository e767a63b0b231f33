// CUDA error handling that throws. Every CUDA runtime call in yolo-trt goes through check(): an error
// becomes a yolo::Error with code ERR_CUDA, or ERR_NO_CUDA_DRIVER when there is no usable driver or
// device (cudart is linked statically, so on a machine without a driver every call returns
// cudaErrorInsufficientDriver instead of failing to load). Never exit() or abort(): we live inside a
// server process.
//
// Sticky errors: after an illegal address, a launch failure and the like, CUDA's documentation says the
// context is left in an inconsistent state, every later call returns the same error, and only a new
// process recovers (cudaDeviceReset would destroy every other model's allocations on the device). So the
// first sticky error marks the whole process's GPU as lost: that call and every later GPU call throw
// ERR_CUDA with device_lost() set, without touching CUDA again, and the JS side marks the backend broken
// (detector unhealthy, `auto` falls back to the CPU, the server reports not ready / not live).
// Other errors (a bad launch argument, out of memory) fail one call; the backend stays usable.
#pragma once

#include <cuda_runtime_api.h>

#include <atomic>
#include <string>

#include "core/error.h"

namespace yolo::cuda {

// True for the errors that mean "no CUDA here" rather than "a CUDA call failed".
inline bool is_no_driver_error(cudaError_t err) {
  return err == cudaErrorInsufficientDriver || err == cudaErrorNoDevice || err == cudaErrorStubLibrary ||
         err == cudaErrorCallRequiresNewerDriver || err == cudaErrorSystemDriverMismatch ||
         err == cudaErrorCompatNotSupportedOnDevice;
}

// True for the errors that leave the process's CUDA context unusable (CUDA runtime API documentation:
// "the process must be terminated and relaunched").
inline bool is_sticky_error(cudaError_t err) {
  switch (err) {
    case cudaErrorECCUncorrectable:
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchTimeout:
    case cudaErrorAssert:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorLaunchFailure:
      return true;
    default:
      return false;
  }
}

// The first sticky error seen by this process (cudaSuccess while the context is fine).
inline std::atomic<int>& lost_context_error() {
  static std::atomic<int> error{static_cast<int>(cudaSuccess)};
  return error;
}

inline bool context_lost() {
  return lost_context_error().load() != static_cast<int>(cudaSuccess);
}

// "cudaMalloc(input tensor) failed: cudaErrorMemoryAllocation (out of memory)".
inline std::string describe_cuda_error(cudaError_t err, const char* what) {
  return std::string(what) + " failed: " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")";
}

inline constexpr const char* kRestartAdvice = "the CUDA device context is lost; restart the process to use the GPU again";

// Throws the device-lost error when an earlier call hit a sticky error. Every GPU entry point calls this
// first, so nothing is enqueued on a dead context.
inline void throw_if_context_lost() {
  const int err = lost_context_error().load();
  if (err == static_cast<int>(cudaSuccess)) return;
  throw Error(code::kCuda,
              std::string("CUDA device context lost earlier (") + cudaGetErrorName(static_cast<cudaError_t>(err)) +
                  "): " + kRestartAdvice,
              true);
}

[[noreturn]] inline void throw_cuda_error(cudaError_t err, const char* what) {
  if (is_sticky_error(err)) {
    int expected = static_cast<int>(cudaSuccess);
    lost_context_error().compare_exchange_strong(expected, static_cast<int>(err));
    throw Error(code::kCuda, describe_cuda_error(err, what) + ": " + kRestartAdvice, true);
  }
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
