// The yolo_trt addon: module init, capabilities() and letterboxGeometry() (synchronous, cheap).
// preprocess()/postprocess() live in their own files. The JS contract is src/native/binding.ts.
#include <napi.h>

#include "../core/letterbox.h"
#include "capabilities.h"
#include "gpu_metrics.h"
#include "js_args.h"
#include "workers.h"
#if defined(YOLO_TRT_WITH_CUDA)
#include "gpu_register.h"  // exports.cudaTest, exports.tensorrt (native/cuda, native/trt)
#endif

#ifndef YOLO_TRT_VERSION
#error "YOLO_TRT_VERSION must be defined by the build (CMakeLists.txt reads it from package.json)"
#endif
#ifndef YOLO_TRT_VARIANT
#define YOLO_TRT_VARIANT "cpu"
#endif

namespace yolo::addon {
namespace {

Napi::Value optional_string(Napi::Env env, const std::optional<std::string>& s) {
  return s ? Napi::String::New(env, *s) : env.Null();
}

}  // namespace

Napi::Object geometry_to_js(Napi::Env env, int new_w, int new_h, int left, int top, double ratio) {
  Napi::Object g = Napi::Object::New(env);
  g.Set("newWidth", Napi::Number::New(env, new_w));
  g.Set("newHeight", Napi::Number::New(env, new_h));
  g.Set("left", Napi::Number::New(env, left));
  g.Set("top", Napi::Number::New(env, top));
  g.Set("ratio", Napi::Number::New(env, ratio));
  return g;
}

Napi::Value Capabilities(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  result.Set("version", Napi::String::New(env, YOLO_TRT_VERSION));
  result.Set("variant", Napi::String::New(env, YOLO_TRT_VARIANT));

  const CudaCapabilities cuda = cuda_capabilities();
  Napi::Object cuda_js = Napi::Object::New(env);
  cuda_js.Set("compiled", Napi::Boolean::New(env, cuda.compiled));
  cuda_js.Set("runtimeVersion", optional_string(env, cuda.runtime_version));
  cuda_js.Set("driver", optional_string(env, cuda.driver));
  Napi::Array devices = Napi::Array::New(env, cuda.devices.size());
  for (size_t i = 0; i < cuda.devices.size(); ++i) {
    const CudaDeviceInfo& d = cuda.devices[i];
    Napi::Object dev = Napi::Object::New(env);
    dev.Set("index", Napi::Number::New(env, d.index));
    dev.Set("name", Napi::String::New(env, d.name));
    dev.Set("computeCapability", Napi::String::New(env, d.compute_capability));
    dev.Set("memoryBytes", Napi::Number::New(env, static_cast<double>(d.memory_bytes)));
    devices.Set(static_cast<uint32_t>(i), dev);
  }
  cuda_js.Set("devices", devices);
  cuda_js.Set("error", optional_string(env, cuda.error));
  result.Set("cuda", cuda_js);

  const TensorRtCapabilities trt = tensorrt_capabilities();
  Napi::Object trt_js = Napi::Object::New(env);
  trt_js.Set("compiled", Napi::Boolean::New(env, trt.compiled));
  trt_js.Set("version", optional_string(env, trt.version));
  result.Set("tensorrt", trt_js);
  return result;
}

Napi::Value LetterboxGeometry(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* code = "ERR_INVALID_OPTION";
  const int w = to_int(env, info[0], "width", 1, kMaxSide, code);
  const int h = to_int(env, info[1], "height", 1, kMaxSide, code);
  const int dw = to_int(env, info[2], "dstWidth", 1, kMaxSide, code);
  const int dh = to_int(env, info[3], "dstHeight", 1, kMaxSide, code);
  const yolo::LetterboxGeometry g = letterbox_geometry(w, h, dw, dh);
  return geometry_to_js(env, g.new_w, g.new_h, g.left, g.top, g.ratio);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("capabilities", Napi::Function::New(env, Capabilities, "capabilities"));
  exports.Set("letterboxGeometry", Napi::Function::New(env, LetterboxGeometry, "letterboxGeometry"));
  exports.Set("preprocess", Napi::Function::New(env, Preprocess, "preprocess"));
  exports.Set("postprocess", Napi::Function::New(env, Postprocess, "postprocess"));
  exports.Set("postprocessEndToEnd", Napi::Function::New(env, PostprocessEndToEnd, "postprocessEndToEnd"));
  exports.Set("gpuMetrics", Napi::Function::New(env, GpuMetrics, "gpuMetrics"));
  register_memory(env, exports);
#if defined(YOLO_TRT_WITH_CUDA)
  register_gpu(env, exports);
#endif
  return exports;
}

}  // namespace yolo::addon

// NODE_API_MODULE pastes the init function's name into an identifier: it must be unqualified.
static Napi::Object InitYoloTrt(Napi::Env env, Napi::Object exports) { return yolo::addon::Init(env, exports); }

NODE_API_MODULE(yolo_trt, InitYoloTrt)
