// GPU additions to the addon's exports, compiled only into CUDA builds (see native/cuda/CMakeLists.txt,
// which adds these sources to the addon target). module.cpp calls register_gpu() from Init.
//   exports.cudaTest  test-only entry points over the CUDA kernels (scripts/gpu-check)
//   exports.tensorrt  the TensorRT engine API (TensorRT builds only)
#pragma once

#include <napi.h>

#include <functional>
#include <utility>

#include "promise_worker.h"

namespace yolo::addon {

void register_gpu(Napi::Env env, Napi::Object exports);

// Adds `tensorrt` to exports (tensorrt_binding.cpp; TensorRT builds only).
void register_tensorrt(Napi::Env env, Napi::Object exports);

// A PromiseWorker made of two lambdas: `run` on the worker thread, `result` on the JS thread.
class LambdaWorker final : public PromiseWorker {
 public:
  LambdaWorker(Napi::Env env, const char* name, std::function<void()> run,
               std::function<Napi::Value(Napi::Env)> result)
      : PromiseWorker(env, name), run_(std::move(run)), result_(std::move(result)) {}

 protected:
  void Run() override { run_(); }
  Napi::Value Result(Napi::Env env) override { return result_(env); }

 private:
  std::function<void()> run_;
  std::function<Napi::Value(Napi::Env)> result_;
};

}  // namespace yolo::addon
