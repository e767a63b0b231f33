// postprocessEndToEnd(output, options) -> Promise<{ detections, msPerImage }>. See src/native/binding.ts.
// The same thresholds reader as postprocess() (nms_args.h), so both accept and refuse the same values;
// iou and agnostic are read and checked but have no effect on end-to-end outputs.
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../core/end_to_end.h"
#include "../core/error.h"
#include "../cpu/postprocess_end_to_end.h"
#include "js_args.h"
#include "nms_args.h"
#include "postprocess_job.h"
#include "promise_worker.h"
#include "workers.h"

namespace yolo::addon {
namespace {

constexpr int kMaxBatch = 1 << 16;
constexpr int kMaxRows = 1 << 20;
constexpr int kMaxClasses = 1 << 20;

class PostprocessEndToEndWorker final : public PostprocessJob {
 public:
  PostprocessEndToEndWorker(Napi::Env env, const Napi::Value& output_value, const Napi::Value& options_value)
      : PostprocessJob(env, "yolo_trt.postprocessEndToEnd") {
    if (!is_typed_array_of(output_value, napi_float32_array)) {
      throw_expected(env, code::kInvalidOption, "a Float32Array", "output", output_value);
    }
    if (!options_value.IsObject()) throw_expected(env, code::kInvalidOption, "an object", "options", options_value);
    const Napi::Object options = options_value.As<Napi::Object>();
    const Napi::Float32Array output = output_value.As<Napi::Float32Array>();

    const Napi::Value dims_value = options.Get("dims");
    if (!dims_value.IsArray() || dims_value.As<Napi::Array>().Length() != 3) {
      throw_expected(env, code::kInvalidOption, "an array [batch, rows, 6]", "options.dims", dims_value);
    }
    const Napi::Array dims = dims_value.As<Napi::Array>();
    o_.batch = to_int(env, dims.Get(0u), "options.dims[0]", 1, kMaxBatch, code::kInvalidOption);
    o_.rows = to_int(env, dims.Get(1u), "options.dims[1]", 0, kMaxRows, code::kInvalidOption);
    to_int(env, dims.Get(2u), "options.dims[2]", kEndToEndRowLength, kEndToEndRowLength, code::kInvalidOption);
    const size_t expected_len =
        static_cast<size_t>(o_.batch) * static_cast<size_t>(o_.rows) * static_cast<size_t>(kEndToEndRowLength);
    if (output.ElementLength() != expected_len) {
      throw_coded(env, code::kInvalidOption,
                  "Expected output of " + std::to_string(expected_len) + " floats for dims [" +
                      std::to_string(o_.batch) + ", " + std::to_string(o_.rows) + ", 6] but received " +
                      std::to_string(output.ElementLength()));
    }
    o_.num_classes = get_int(options, "numClasses", "options.numClasses", 1, kMaxClasses, code::kInvalidOption);

    NmsArgs nms = read_nms_args(env, options, "options", o_.num_classes);
    o_.conf = nms.conf;
    o_.max_det = nms.max_det;
    o_.class_allowed = std::move(nms.class_allowed);

    read_box_geometry(env, options, &o_);
    hold(output);
  }

 protected:
  void run_batch(std::vector<std::vector<cpu::Detection>>* results) override {
    cpu::postprocess_end_to_end_batch(raw(), o_, results);
  }
  int batch() const override { return o_.batch; }

 private:
  cpu::EndToEndOptions o_;
};

}  // namespace

Napi::Value PostprocessEndToEnd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return queue_promise_worker(env, [&]() -> PromiseWorker* {
    auto worker = std::make_unique<PostprocessEndToEndWorker>(env, info[0], info[1]);
    return worker.release();
  });
}

}  // namespace yolo::addon
