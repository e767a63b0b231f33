#pragma once
// What the classic (NMS) and end-to-end postprocess entry points share, so both read, run and answer
// alike: the letterbox geometry boxes are scaled back with (options.inputWidth/inputHeight/origSizes),
// the job that runs one batch off the JS thread and times it, and the JS value it resolves with:
// { detections: Float32Array[] (rows x1,y1,x2,y2,score,cls per image), msPerImage }.
#include <napi.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "../core/error.h"
#include "../cpu/postprocess.h"
#include "js_args.h"
#include "promise_worker.h"
#include "workers.h"

namespace yolo::addon {

// Reads inputWidth, inputHeight and origSizes (an Int32Array [w0, h0, ...] of 2 * o->batch positive
// sizes) into `o`, a cpu::PostprocessOptions or cpu::EndToEndOptions whose batch is already read.
template <class Options>
void read_box_geometry(Napi::Env env, const Napi::Object& options, Options* o) {
  o->input_w = get_int(options, "inputWidth", "options.inputWidth", 1, kMaxSide, code::kInvalidOption);
  o->input_h = get_int(options, "inputHeight", "options.inputHeight", 1, kMaxSide, code::kInvalidOption);
  const Napi::Value sizes = options.Get("origSizes");
  const size_t expected = 2 * static_cast<size_t>(o->batch);
  if (!is_typed_array_of(sizes, napi_int32_array) ||
      sizes.As<Napi::Int32Array>().ElementLength() != expected) {
    throw_expected(env, code::kInvalidOption,
                   "an Int32Array of " + std::to_string(expected) + " sizes [w0, h0, ...]",
                   "options.origSizes", sizes);
  }
  const Napi::Int32Array orig = sizes.As<Napi::Int32Array>();
  o->orig_sizes.resize(orig.ElementLength());
  for (size_t i = 0; i < orig.ElementLength(); ++i) {
    const int32_t v = orig[i];
    if (v <= 0) {
      throw_coded(env, code::kInvalidOption,
                  "Expected positive sizes for options.origSizes but received " + std::to_string(v) +
                      " at index " + std::to_string(i));
    }
    o->orig_sizes[i] = v;
  }
}

// A postprocess job: subclasses read their options in the constructor, call hold() on the validated
// output and implement run_batch(); Run() times it per image and Result() builds the JS value.
class PostprocessJob : public PromiseWorker {
 public:
  PostprocessJob(Napi::Env env, const char* resource_name) : PromiseWorker(env, resource_name) {}

 protected:
  // Keeps the model output alive (and its floats in place) while the job runs off the JS thread.
  void hold(const Napi::Float32Array& output) {
    raw_ = output.Data();
    input_ = Napi::Persistent(output.As<Napi::Object>());
  }
  const float* raw() const { return raw_; }

  virtual void run_batch(std::vector<std::vector<cpu::Detection>>* results) = 0;
  virtual int batch() const = 0;

  void Run() override {
    const auto start = std::chrono::steady_clock::now();
    run_batch(&results_);
    const std::chrono::duration<double, std::milli> elapsed = std::chrono::steady_clock::now() - start;
    ms_per_image_ = elapsed.count() / static_cast<double>(batch());
  }

  Napi::Value Result(Napi::Env env) override {
    static_assert(sizeof(cpu::Detection) == 6 * sizeof(float), "Detection must be 6 packed floats");
    Napi::Array detections = Napi::Array::New(env, results_.size());
    for (size_t i = 0; i < results_.size(); ++i) {
      const std::vector<cpu::Detection>& rows = results_[i];
      Napi::Float32Array array = Napi::Float32Array::New(env, rows.size() * 6);
      if (!rows.empty()) std::memcpy(array.Data(), rows.data(), rows.size() * sizeof(cpu::Detection));
      detections.Set(static_cast<uint32_t>(i), array);
    }
    Napi::Object result = Napi::Object::New(env);
    result.Set("detections", detections);
    result.Set("msPerImage", Napi::Number::New(env, ms_per_image_));
    return result;
  }

 private:
  const float* raw_ = nullptr;
  Napi::ObjectReference input_;
  std::vector<std::vector<cpu::Detection>> results_;
  double ms_per_image_ = 0.0;
};

}  // namespace yolo::addon
