// Fault injection for the emulated CUDA runtime (cuda_shim.h): a test arms "the k-th next call of X fails
// with error E", and the shim returns E from that call instead of running it. A sticky error (an illegal
// address, a launch failure, ...) then keeps being returned by every later call, as a real CUDA context
// does once it is lost; reset() stands for a new process. Also counts allocations, frees and stream
// synchronizations so tests can see that the hot path neither allocates nor skips a sync.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace yolo::emulation {

struct ArmedFault {
  std::string call;
  int skip;  // calls of `call` that still succeed before this one fails
  cudaError_t error;
};

struct FaultState {
  std::mutex mutex;
  std::vector<ArmedFault> armed;
  cudaError_t sticky = cudaSuccess;  // once set, every call returns it
  uint64_t allocations = 0;
  uint64_t frees = 0;
  uint64_t stream_syncs = 0;
};

inline FaultState& fault_state() {
  static FaultState state;
  return state;
}

// Errors after which CUDA's documentation says the process must be restarted: what the emulated runtime
// does with them (every later call fails too). Deliberately its own list, not cuda_check.h's
// is_sticky_error(): the emulation plays the real runtime that the product's classification is tested
// against, so sharing one list would let a wrong entry pass its own test.
inline bool emulated_error_is_sticky(cudaError_t e) {
  switch (e) {
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

// The (skip + 1)-th next call of `call` (a CUDA function name) returns `error`.
inline void inject_fault(const std::string& call, int skip, cudaError_t error) {
  FaultState& s = fault_state();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.armed.push_back(ArmedFault{call, skip, error});
}

// Forgets armed faults and a lost context (a fresh process), and zeroes the counters.
inline void reset_faults() {
  FaultState& s = fault_state();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.armed.clear();
  s.sticky = cudaSuccess;
  s.allocations = s.frees = s.stream_syncs = 0;
}

// Zeroes the allocation, free and synchronization counters only.
inline void reset_counters() {
  FaultState& s = fault_state();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.allocations = s.frees = s.stream_syncs = 0;
}

inline cudaError_t take_fault(const char* call) {
  FaultState& s = fault_state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.sticky != cudaSuccess) return s.sticky;
  for (auto it = s.armed.begin(); it != s.armed.end(); ++it) {
    if (it->call != call) continue;
    if (it->skip-- > 0) return cudaSuccess;
    const cudaError_t e = it->error;
    s.armed.erase(it);
    if (emulated_error_is_sticky(e)) s.sticky = e;
    return e;
  }
  return cudaSuccess;
}

inline void count_allocation() {
  std::lock_guard<std::mutex> lock(fault_state().mutex);
  ++fault_state().allocations;
}
inline void count_free() {
  std::lock_guard<std::mutex> lock(fault_state().mutex);
  ++fault_state().frees;
}
inline void count_stream_sync() {
  std::lock_guard<std::mutex> lock(fault_state().mutex);
  ++fault_state().stream_syncs;
}

}  // namespace yolo::emulation
