// preprocess(images, options) -> Promise<{ tensor, geometry, msPerImage, stats? }>. See src/native/binding.ts.
#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "../core/error.h"
#include "../core/image_stats.h"
#include "../cpu/preprocess.h"
#include "image_args.h"
#include "js_args.h"
#include "promise_worker.h"
#include "workers.h"

namespace yolo::addon {
namespace {

constexpr uint32_t kMaxBatch = 1u << 16;
constexpr int kMaxThreads = 1024;

cpu::TensorDType parse_dtype(const Napi::Object& options) {
  const Napi::Value value = options.Get("dtype");
  if (value.IsString()) {
    const std::string d = value.As<Napi::String>().Utf8Value();
    if (d == "float32") return cpu::TensorDType::kFloat32;
    if (d == "float16") return cpu::TensorDType::kFloat16;
    if (d == "uint8") return cpu::TensorDType::kUint8;
  }
  throw_expected(options.Env(), code::kInvalidOption, "one of 'float32', 'float16', 'uint8'", "options.dtype",
                 value);
}

class PreprocessWorker final : public PromiseWorker {
 public:
  PreprocessWorker(Napi::Env env, const Napi::Value& images_value, const Napi::Value& options_value)
      : PromiseWorker(env, "yolo_trt.preprocess") {
    if (!images_value.IsArray()) {
      throw_expected(env, code::kInvalidOption, "an array of images", "images", images_value);
    }
    const Napi::Array images = images_value.As<Napi::Array>();
    const uint32_t n = images.Length();
    if (n == 0 || n > kMaxBatch) {
      throw_expected(env, code::kInvalidOption, "an array of 1 to " + std::to_string(kMaxBatch) + " images",
                     "images", images_value);
    }
    if (!options_value.IsObject()) {
      throw_expected(env, code::kInvalidOption, "an object", "options", options_value);
    }
    const Napi::Object options = options_value.As<Napi::Object>();
    options_.dst_w = get_int(options, "width", "options.width", 1, kMaxSide, code::kInvalidOption);
    options_.dst_h = get_int(options, "height", "options.height", 1, kMaxSide, code::kInvalidOption);
    options_.dtype = parse_dtype(options);
    options_.threads = get_int(options, "threads", "options.threads", 1, kMaxThreads, code::kInvalidOption);
    const Napi::Value stats = options.Get("stats");
    if (!stats.IsUndefined()) want_stats_ = get_bool(options, "stats", "options.stats");

    views_.resize(n);
    inputs_.reserve(n);
    for (uint32_t i = 0; i < n; ++i) read_image(images.Get(i), i);

    elements_ = static_cast<size_t>(n) * 3 * static_cast<size_t>(options_.dst_w) * static_cast<size_t>(options_.dst_h);
    const size_t bytes = elements_ * cpu::dtype_bytes(options_.dtype);
    const Napi::Value given = options.Get("output");
    if (!given.IsUndefined() && !given.IsNull()) {
      use_output(given, bytes);
    } else {
      Napi::ArrayBuffer buffer;
      try {
        buffer = Napi::ArrayBuffer::New(env, bytes);
      } catch (const Napi::Error&) {
        throw_coded(env, code::kInvalidOption,
                    "Cannot allocate a preprocess output of " + std::to_string(bytes) + " bytes (" +
                        std::to_string(n) + " images of 3x" + std::to_string(options_.dst_h) + "x" +
                        std::to_string(options_.dst_w) + ")");
      }
      out_data_ = buffer.Data();
      output_buffer_ = Napi::Persistent(buffer);
    }
    geometry_.resize(n);
    if (want_stats_) stats_.resize(static_cast<size_t>(n) * kImageStatsCount);
  }

 protected:
  void Run() override {
    const auto start = std::chrono::steady_clock::now();
    cpu::preprocess_batch(views_.data(), views_.size(), options_, out_data_, geometry_.data(),
                          want_stats_ ? stats_.data() : nullptr);
    const std::chrono::duration<double, std::milli> elapsed = std::chrono::steady_clock::now() - start;
    ms_per_image_ = elapsed.count() / static_cast<double>(views_.size());
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object result = Napi::Object::New(env);
    result.Set("tensor", tensor_value(env));
    Napi::Array geometry = Napi::Array::New(env, geometry_.size());
    for (size_t i = 0; i < geometry_.size(); ++i) {
      const yolo::LetterboxGeometry& g = geometry_[i];
      geometry.Set(static_cast<uint32_t>(i), geometry_to_js(env, g.new_w, g.new_h, g.left, g.top, g.ratio));
    }
    result.Set("geometry", geometry);
    result.Set("msPerImage", Napi::Number::New(env, ms_per_image_));
    if (want_stats_) {
      Napi::Float64Array stats = Napi::Float64Array::New(env, stats_.size());
      std::copy(stats_.begin(), stats_.end(), stats.Data());
      result.Set("stats", stats);
    }
    return result;
  }

 private:
  void read_image(const Napi::Value& value, uint32_t i) {
    inputs_.emplace_back();  // keeps the pixels alive while we work
    views_[i] = read_image_view(Env(), value, i, &inputs_.back());
  }

  // The caller's options.output: a typed array of the dtype's type with room for the whole batch, not
  // sharing memory with any input. Written in place and returned (as is when its length is exact, else
  // as a view of its first elements). Reusing one avoids first-touch page faults on fresh memory.
  void use_output(const Napi::Value& given, size_t bytes) {
    Napi::Env env = Env();
    const napi_typedarray_type want = options_.dtype == cpu::TensorDType::kFloat32   ? napi_float32_array
                                      : options_.dtype == cpu::TensorDType::kFloat16 ? napi_uint16_array
                                                                                     : napi_uint8_array;
    const char* want_name = want == napi_float32_array   ? "a Float32Array"
                            : want == napi_uint16_array ? "a Uint16Array"
                                                        : "a Uint8Array";
    if (!is_typed_array_of(given, want)) {
      throw_expected(env, code::kInvalidOption, std::string(want_name) + " matching options.dtype", "options.output",
                     given);
    }
    const Napi::TypedArray out = given.As<Napi::TypedArray>();
    if (out.ByteLength() < bytes) {
      throw_expected(env, code::kInvalidOption,
                     std::string(want_name) + " of at least " + std::to_string(elements_) + " elements",
                     "options.output", given);
    }
    uint8_t* begin = typed_array_data(env, given);
    for (size_t i = 0; i < views_.size(); ++i) {
      const uint8_t* in_begin = views_[i].data;
      const uint8_t* in_end = in_begin + views_[i].byte_length;
      if (in_begin < begin + bytes && begin < in_end) {
        throw_coded(env, code::kInvalidOption,
                    "options.output shares memory with images[" + std::to_string(i) + "].data");
      }
    }
    out_data_ = begin;
    output_array_ = Napi::Persistent(given.As<Napi::Object>());
    output_exact_ = out.ByteLength() == bytes;
  }

  // The tensor to resolve with: the caller's output (or its first elements), or a typed array of
  // exactly the batch over the buffer allocated here.
  Napi::Value tensor_value(Napi::Env env) {
    if (!output_array_.IsEmpty()) {
      Napi::Object out = output_array_.Value();
      if (output_exact_) return out;
      // subarray() also works for arrays over a SharedArrayBuffer (napi_create_typedarray does not).
      return out.Get("subarray").As<Napi::Function>().Call(
          out, {Napi::Number::New(env, 0), Napi::Number::New(env, static_cast<double>(elements_))});
    }
    Napi::ArrayBuffer buffer = output_buffer_.Value();
    switch (options_.dtype) {
      case cpu::TensorDType::kFloat32:
        return Napi::Float32Array::New(env, elements_, buffer, 0);
      case cpu::TensorDType::kFloat16:
        return Napi::Uint16Array::New(env, elements_, buffer, 0);
      case cpu::TensorDType::kUint8:
        break;
    }
    return Napi::Uint8Array::New(env, elements_, buffer, 0);
  }

  cpu::PreprocessOptions options_;
  std::vector<cpu::ImageView> views_;
  std::vector<Napi::ObjectReference> inputs_;
  Napi::Reference<Napi::ArrayBuffer> output_buffer_;  // allocated here (no options.output)
  Napi::ObjectReference output_array_;                // options.output
  bool output_exact_ = false;
  void* out_data_ = nullptr;
  size_t elements_ = 0;
  std::vector<yolo::LetterboxGeometry> geometry_;
  double ms_per_image_ = 0.0;
  bool want_stats_ = false;
  std::vector<double> stats_;  // kImageStatsCount per image (options.stats)
};

}  // namespace

Napi::Value Preprocess(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return queue_promise_worker(env, [&]() -> PromiseWorker* {
    auto worker = std::make_unique<PreprocessWorker>(env, info[0], info[1]);
    return worker.release();
  });
}

}  // namespace yolo::addon
