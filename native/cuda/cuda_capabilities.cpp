// yolo::cuda_capabilities() for CUDA builds (declared in addon/capabilities.h; builds without CUDA get
// the stub in addon/capabilities_stub.cpp). Never throws: "no driver" and "no device" are answers.
//
// cudart is linked statically, so this runs on machines without any NVIDIA driver: cudaDriverGetVersion
// then reports 0 and every other call cudaErrorInsufficientDriver, which ends up in `error`.
#include <cuda_runtime_api.h>

#include <mutex>
#include <string>

#include "addon/capabilities.h"
#include "cuda_check.h"

namespace yolo {
namespace {

// 12060 -> "12.6", 13000 -> "13.0".
std::string cuda_version_text(int v) {
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

CudaCapabilities probe() {
  CudaCapabilities caps;
  caps.compiled = true;
  caps.runtime_version = cuda_version_text(CUDART_VERSION);
  int driver = 0;
  const cudaError_t driver_err = cudaDriverGetVersion(&driver);
  if (driver_err == cudaSuccess && driver > 0) caps.driver = cuda_version_text(driver);
  int count = 0;
  const cudaError_t count_err = cudaGetDeviceCount(&count);
  if (count_err != cudaSuccess) {
    (void)cudaGetLastError();
    std::string why = cuda::describe_cuda_error(count_err, "cudaGetDeviceCount");
    if (!caps.driver) why = "no CUDA driver found: " + why;
    caps.error = why;
    // A driver too old for this runtime answers its version but cannot run anything: report it as no
    // usable driver, which is what backend selection needs to know.
    if (count_err == cudaErrorInsufficientDriver) caps.driver.reset();
    return caps;
  }
  if (count == 0) {
    caps.error = "the CUDA driver reports no devices";
    return caps;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    const cudaError_t err = cudaGetDeviceProperties(&prop, i);
    if (err != cudaSuccess) {
      (void)cudaGetLastError();
      caps.error = cuda::describe_cuda_error(err, "cudaGetDeviceProperties");
      continue;
    }
    CudaDeviceInfo d;
    d.index = i;
    d.name = prop.name;
    d.compute_capability = std::to_string(prop.major) + "." + std::to_string(prop.minor);
    d.memory_bytes = static_cast<uint64_t>(prop.totalGlobalMem);
    caps.devices.push_back(d);
  }
  return caps;
}

}  // namespace

CudaCapabilities cuda_capabilities() {
  // Drivers and devices do not change while a process runs; probing costs milliseconds, so once.
  static std::once_flag once;
  static CudaCapabilities cached;
  try {
    std::call_once(once, [] { cached = probe(); });
    return cached;
  } catch (...) {
    CudaCapabilities caps;
    caps.compiled = true;
    caps.error = "probing CUDA failed unexpectedly";
    return caps;
  }
}

}  // namespace yolo
