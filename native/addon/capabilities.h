// What this binary was built with and what it finds at run time, as plain C++ (no N-API), so that the
// CUDA and TensorRT code can fill it in without knowing JS. module.cpp turns it into the JS object typed
// as NativeCapabilities in src/native/binding.ts.
//
// Hooks: when the addon is built with CUDA (YOLO_TRT_WITH_CUDA, target yolo_trt_cuda from native/cuda)
// that code implements yolo::cuda_capabilities(); with TensorRT (YOLO_TRT_WITH_TENSORRT, target
// yolo_trt_tensorrt from native/trt) it implements yolo::tensorrt_capabilities(). Otherwise
// capabilities_stub.cpp answers "not compiled". Both must never throw: a runtime failure (no driver, no
// device) goes into `error`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace yolo {

struct CudaDeviceInfo {
  int index = 0;
  std::string name;
  std::string compute_capability;  // e.g. "8.7"
  uint64_t memory_bytes = 0;
};

struct CudaCapabilities {
  bool compiled = false;
  std::optional<std::string> runtime_version;  // CUDA runtime the addon was built with, e.g. "13.0"
  std::optional<std::string> driver;           // driver version found at run time
  std::vector<CudaDeviceInfo> devices;
  std::optional<std::string> error;  // why there is no driver/device, when there is none
};

struct TensorRtCapabilities {
  bool compiled = false;
  std::optional<std::string> version;  // e.g. "10.3.0"
};

CudaCapabilities cuda_capabilities();
TensorRtCapabilities tensorrt_capabilities();

}  // namespace yolo
