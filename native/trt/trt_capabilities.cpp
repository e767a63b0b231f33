// yolo::tensorrt_capabilities() for builds with TensorRT (declared in addon/capabilities.h; builds
// without TensorRT get the stub in addon/capabilities_stub.cpp). Never throws.
#include "addon/capabilities.h"
#include "trt_version.h"

namespace yolo {

TensorRtCapabilities tensorrt_capabilities() {
  TensorRtCapabilities caps;
  caps.compiled = true;
  try {
    // The libnvinfer actually loaded: it can be a newer minor than the headers we were built with.
    caps.version = trt::linked_version();
  } catch (...) {
    caps.version = trt::compiled_version();
  }
  return caps;
}

}  // namespace yolo
