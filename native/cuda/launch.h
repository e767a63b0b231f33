// The one place a kernel is launched. nvcc builds use the <<<grid, block, shared, stream>>> syntax; the
// emulation build (native/cuda/emulation: the kernels run on the CPU under HIP-CPU, YOLO_TRT_HIP_CPU
// defined) cannot parse it and uses hipLaunchKernelGGL instead. Keeping every launch behind this helper
// lets the .cu files compile unchanged under both, so CI executes the very kernels a GPU runs.
//
// launch() also checks the launch itself (configuration errors surface at once; errors while the kernel
// runs surface at the next synchronization, see cuda_check.h).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

#include "cuda_check.h"

namespace yolo::cuda {

// launch("decode_kernel", decode_kernel<float>, grid, block, stream, args...): the arguments are
// converted to the kernel's parameter types first, as the <<<>>> syntax would.
template <typename... Params, typename... Args>
void launch(const char* name, void (*kernel)(Params...), dim3 grid, dim3 block, cudaStream_t stream,
            Args&&... args) {
  static_assert(sizeof...(Params) == sizeof...(Args), "launch: argument count differs from the kernel's");
#if defined(YOLO_TRT_HIP_CPU)
  hipLaunchKernelGGL(kernel, grid, block, 0, stream, static_cast<Params>(args)...);
#else
  kernel<<<grid, block, 0, stream>>>(static_cast<Params>(args)...);
#endif
  check_launch(name);
}

}  // namespace yolo::cuda
