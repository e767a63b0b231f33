// postprocess(output, options) -> Promise<{ detections, msPerImage }>. See src/native/binding.ts.
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../core/error.h"
#include "../cpu/postprocess.h"
#include "js_args.h"
#include "nms_args.h"
#include "postprocess_job.h"
#include "promise_worker.h"
#include "workers.h"

namespace yolo::addon {
namespace {

constexpr int kMaxBatch = 1 << 16;
constexpr int kMaxChannels = 1 << 20;
constexpr int kMaxAnchors = 1 << 26;
constexpr int kMaxThreads = 1024;

class PostprocessWorker final : public PostprocessJob {
 public:
  PostprocessWorker(Napi::Env env, const Napi::Value& output_value, const Napi::Value& options_value)
      : PostprocessJob(env, "yolo_trt.postprocess") {
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

    read_box_geometry(env, options, &o_);
    o_.threads = get_int(options, "threads", "options.threads", 1, kMaxThreads, code::kInvalidOption);
    hold(output);
  }

 protected:
  void run_batch(std::vector<std::vector<cpu::Detection>>* results) override {
    cpu::postprocess_batch(raw(), o_, results);
  }
  int batch() const override { return o_.batch; }

 private:
  cpu::PostprocessOptions o_;
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
