// Builds for a real GPU have no fault injection (it lives in the emulated CUDA runtime): no fault cases.
#include "cases.h"

namespace yolo::gpu_cases {

void register_fault_cases(const Paths&) {}

}  // namespace yolo::gpu_cases
