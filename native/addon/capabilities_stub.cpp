// "Not compiled" answers for the CUDA and TensorRT capability hooks of a build without them. A build
// with CUDA or TensorRT defines YOLO_TRT_WITH_CUDA / YOLO_TRT_WITH_TENSORRT and links the real
// implementations instead (see capabilities.h).
#include "capabilities.h"

namespace yolo {

#ifndef YOLO_TRT_WITH_CUDA
CudaCapabilities cuda_capabilities() {
  CudaCapabilities caps;
  caps.compiled = false;
  caps.error = "this yolo-trt binary was built without CUDA support";
  return caps;
}
#endif

#ifndef YOLO_TRT_WITH_TENSORRT
TensorRtCapabilities tensorrt_capabilities() {
  TensorRtCapabilities caps;
  caps.compiled = false;
  return caps;
}
#endif

}  // namespace yolo
