// postprocess(output, options) -> Promise<{ detections, msPerImage }>. See src/native/binding.ts.
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../core/error.h"
#include "../cpu/postprocess.h"
#include "js_args.h"
#include "nms_args.h"
#include "detections_result.h"
#include "promise_worker.h"
#include "workers.h"

namespace yolo::addon {
namespace {

constexpr int kMaxBatch = 1 << 16;
constexpr int kMaxChannels = 1 << 20;
constexpr int kMaxAnchors = 1 << 26;
constexpr int kMaxThreads = 1024;

class PostprocessWorker final : public PromiseWorker {
 public:
  PostprocessWorker(Napi::Env env, const Napi::Value& output_value, const Napi::Value& options_value)
      : PromiseWorker(env, "yolo_trt.postprocess") {
    if (!is_typed_array_of(output_value, napi_float32_array)) {
      throw_expected(env, code::kInvalidOption, "a Float32Array", "output", output_value);
    }
    if (!options_value.IsObject()) throw_expected(env, code::kInvalidOption, "an object", "options", options_value);
    const Napi::Object options = options_value.As<Napi::Object>();
    const Napi::Float32Array output = output_value.As<Napi::Float32Array>();

    const Napi::Value dims_value = options.Get("dims");
    const char* dims_expected = "an array [batch, 4 + nc, anchors]";
    if (!dims_value.IsArray() || dims_value.As<Napi::Array>().Length() != 3) {
      throw_expected(env, code::kInvalidOption, dims_expected, "options.dims", dims_value);
    }
    const Napi::Array dims = dims_value.As<Napi::Array>();
    o_.batch = to_int(env, dims.Get(0u), "options.dims[0]", 1, kMaxBatch, code::kInvalidOption);
    o_.channels = to_int(env, dims.Get(1u), "options.dims[1]", 5, kMaxChannels, code::kInvalidOption);
    o_.anchors = to_int(env, dims.Get(2u), "options.dims[2]", 1, kMaxAnchors, code::kInvalidOption);
    const size_t expected_len = static_cast<size_t>(o_.batch) * static_cast<size_t>(o_.channels) *
                                static_cast<size_t>(o_.anchors);
    if (output.ElementLength() != expected_len) {
      throw_coded(env, code::kInvalidOption,
                  "Expected output of " + std::to_string(expected_len) + " floats for dims [" +
                      std::to_string(o_.batch) + ", " + std::to_string(o_.channels) + ", " +
                      std::to_string(o_.anchors) + "] but received " + std::to_string(output.ElementLength()));
    }

    NmsArgs nms = read_nms_args(env, options, "options", o_.channels - 4);
    o_.conf = nms.conf;
    o_.iou = nms.iou;
    o_.max_det = nms.max_det;
    o_.agnostic = nms.agnostic;
    o_.class_allowed = std::move(nms.class_allowed);

    o_.input_w = get_int(options, "inputWidth", "options.inputWidth", 1, kMaxSide, code::kInvalidOption);
    o_.input_h = get_int(options, "inputHeight", "options.inputHeight", 1, kMaxSide, code::kInvalidOption);
    const Napi::Value sizes = options.Get("origSizes");
    if (!is_typed_array_of(sizes, napi_int32_array) ||
        sizes.As<Napi::Int32Array>().ElementLength() != 2 * static_cast<size_t>(o_.batch)) {
      throw_expected(env, code::kInvalidOption,
                     "an Int32Array of " + std::to_string(2 * static_cast<size_t>(o_.batch)) + " sizes [w0, h0, ...]",
                     "options.origSizes", sizes);
    }
    const Napi::Int32Array orig = sizes.As<Napi::Int32Array>();
    o_.orig_sizes.resize(orig.ElementLength());
    for (size_t i = 0; i < orig.ElementLength(); ++i) {
      const int32_t v = orig[i];
      if (v <= 0) {
        throw_coded(env, code::kInvalidOption,
                    "Expected positive sizes for options.origSizes but received " + std::to_string(v) +
                        " at index " + std::to_string(i));
      }
      o_.orig_sizes[i] = v;
    }
    o_.threads = get_int(options, "threads", "options.threads", 1, kMaxThreads, code::kInvalidOption);

    raw_ = output.Data();
    input_ = Napi::Persistent(output_value.As<Napi::Object>());  // keeps the floats alive while we work
  }

 protected:
  void Run() override {
    const auto start = std::chrono::steady_clock::now();
    cpu::postprocess_batch(raw_, o_, &results_);
    const std::chrono::duration<double, std::milli> elapsed = std::chrono::steady_clock::now() - start;
    ms_per_image_ = elapsed.count() / static_cast<double>(o_.batch);
  }

  Napi::Value Result(Napi::Env env) override { return detections_result(env, results_, ms_per_image_); }

 private:
  cpu::PostprocessOptions o_;
  const float* raw_ = nullptr;
  Napi::ObjectReference input_;
  std::vector<std::vector<cpu::Detection>> results_;
  double ms_per_image_ = 0.0;
};

}  // namespace

Napi::Value Postprocess(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return queue_promise_worker(env, [&]() -> PromiseWorker* {
    auto worker = std::make_unique<PostprocessWorker>(env, info[0], info[1]);
    return worker.release();
  });
}

}  // namespace yolo::addon
