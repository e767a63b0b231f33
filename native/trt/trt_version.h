// TensorRT version guards and the few helpers every file in native/trt shares.
//
// One code base compiles against TensorRT 8.5/8.6 (JetPack 5 / 6.0), 10.x (JetPack 6.1+, servers) and
// 11.x. Where the API differs, code branches on these macros, never on run-time checks: a plan only ever
// runs with the TensorRT it was compiled against (libnvinfer.so.<major> is linked dynamically).
#pragma once

#include <NvInfer.h>
#include <NvInferVersion.h>

#include <cstdint>
#include <memory>
#include <string>

#define YOLO_TRT_AT_LEAST(major, minor) \
  (NV_TENSORRT_MAJOR > (major) || (NV_TENSORRT_MAJOR == (major) && NV_TENSORRT_MINOR >= (minor)))

// 8.5 introduced the name-based tensor API (setTensorAddress, setInputShape, enqueueV3) that every
// version since shares; older releases would need the removed binding-index API.
#if !YOLO_TRT_AT_LEAST(8, 5)
#error "yolo-trt needs TensorRT 8.5 or newer (name-based tensor API and enqueueV3)"
#endif

// TensorRT 10 deprecated the implicit-quantization calibrators (IInt8EntropyCalibrator2 and friends)
// and 11 removed them: INT8 there means an explicitly quantized (Q/DQ) ONNX model.
#define YOLO_TRT_HAS_CALIBRATOR (NV_TENSORRT_MAJOR < 10)
// IProgressMonitor (build progress + cancellation) exists from TensorRT 10.0.
#define YOLO_TRT_HAS_PROGRESS_MONITOR (NV_TENSORRT_MAJOR >= 10)
// TensorRT 11 builds every network strongly typed: BuilderFlag::kFP16/kINT8 are gone and precision
// follows the types in the ONNX model (export with half=True for FP16, a Q/DQ model for INT8).
#define YOLO_TRT_STRONGLY_TYPED_ONLY (NV_TENSORRT_MAJOR >= 11)
// TensorRT 10.12 deprecated the weakly typed precision flags (BuilderFlag::kFP16, kINT8) ahead of their
// removal in 11, but every 10.x still honours them, and they are how an FP32 ONNX model gets FP16/INT8
// kernels there. So 10.x keeps using them, with the deprecation silenced around those lines only
// (native/trt builds with -Werror=deprecated-declarations so that any other deprecated use still fails).
#define YOLO_TRT_WEAK_PRECISION_DEPRECATED (YOLO_TRT_AT_LEAST(10, 12) && !YOLO_TRT_STRONGLY_TYPED_ONLY)
#if defined(_MSC_VER)
#define YOLO_TRT_ALLOW_DEPRECATED_BEGIN __pragma(warning(push)) __pragma(warning(disable : 4996))
#define YOLO_TRT_ALLOW_DEPRECATED_END __pragma(warning(pop))
#else
#define YOLO_TRT_ALLOW_DEPRECATED_BEGIN \
  _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wdeprecated-declarations\"")
#define YOLO_TRT_ALLOW_DEPRECATED_END _Pragma("GCC diagnostic pop")
#endif

namespace yolo::trt {

// A code src/errors.ts knows: the model (ONNX or plan) could not be turned into a runnable engine.
constexpr const char* kErrModelLoad = "ERR_MODEL_LOAD";

// TensorRT objects are released with `delete` since 8.0 (destroy() is deprecated).
template <class T>
using Ptr = std::unique_ptr<T>;

// "10.3.0": the version these headers declare (what the addon was compiled against).
inline std::string compiled_version() {
  return std::to_string(NV_TENSORRT_MAJOR) + "." + std::to_string(NV_TENSORRT_MINOR) + "." +
         std::to_string(NV_TENSORRT_PATCH);
}

// "10.3.0": the libnvinfer actually loaded. getInferLibVersion() encodes major*1000+minor*100+patch
// before TensorRT 10 and major*10000+minor*100+patch from 10 on.
inline std::string linked_version() {
  const int32_t v = getInferLibVersion();
  int major = 0;
  int minor = 0;
  int patch = 0;
  if (v >= 100000) {
    major = v / 10000;
    minor = (v / 100) % 100;
    patch = v % 100;
  } else {
    major = v / 1000;
    minor = (v / 100) % 10;
    patch = v % 100;
  }
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

}  // namespace yolo::trt
