// exports.cudaTest: test-only entry points over the CUDA kernels, for scripts/gpu-check on a machine
// with a GPU (and no TensorRT): the letterbox kernel alone, decode/NMS alone, the whole GPU pipeline
// with inference replaced by an upload of recorded raw outputs, and kernel timings. Not a public API:
// src/native/binding.ts types it as optional and only scripts/ and test/ use it.
#include <memory>
#include <string>
#include <vector>

#include "../core/error.h"
#include "../core/image_stats.h"
#include "../cuda/cuda_raii.h"
#include "../cuda/gpu_pipeline.h"
#include "gpu_args.h"
#include "gpu_register.h"
#include "js_args.h"
#include "workers.h"

namespace yolo::addon {
namespace {

constexpr uint32_t kMaxImages = 1024;

cuda::ElementType parse_type(Napi::Env env, const Napi::Object& o, const char* key, bool allow_uint8) {
  const Napi::Value v = o.Get(key);
  if (v.IsString()) {
    const std::string s = v.As<Napi::String>().Utf8Value();
    if (s == "float32") return cuda::ElementType::kFloat32;
    if (s == "float16") return cuda::ElementType::kFloat16;
    if (s == "uint8" && allow_uint8) return cuda::ElementType::kUint8;
  }
  throw_expected(env, code::kInvalidOption,
                 allow_uint8 ? "one of 'float32', 'float16', 'uint8'" : "'float32' or 'float16'",
                 std::string("options.") + key, v);
}

Napi::Object as_object(Napi::Env env, const Napi::Value& v, const char* name) {
  if (!v.IsObject()) throw_expected(env, code::kInvalidOption, "an object", name, v);
  return v.As<Napi::Object>();
}

// Shape and raw outputs of a postprocess-style call: options.dims = [batch, 4 + nc, anchors].
struct RawOutputs {
  int batch = 0;
  int channels = 0;
  int anchors = 0;
  const float* data = nullptr;
  Napi::ObjectReference keep_alive;
};

void read_raw(Napi::Env env, const Napi::Value& raw, const Napi::Object& options, RawOutputs* out) {
  if (!is_typed_array_of(raw, napi_float32_array))
    throw_expected(env, code::kInvalidOption, "a Float32Array", "output", raw);
  const Napi::Value dims_value = options.Get("dims");
  if (!dims_value.IsArray() || dims_value.As<Napi::Array>().Length() != 3) {
    throw_expected(env, code::kInvalidOption, "an array [batch, 4 + nc, anchors]", "options.dims",
                   dims_value);
  }
  const Napi::Array dims = dims_value.As<Napi::Array>();
  out->batch =
      to_int(env, dims.Get(0u), "options.dims[0]", 1, static_cast<int>(kMaxImages), code::kInvalidOption);
  out->channels = to_int(env, dims.Get(1u), "options.dims[1]", 5, 1 << 20, code::kInvalidOption);
  out->anchors = to_int(env, dims.Get(2u), "options.dims[2]", 1, 1 << 26, code::kInvalidOption);
  const Napi::Float32Array a = raw.As<Napi::Float32Array>();
  const size_t expected = static_cast<size_t>(out->batch) * static_cast<size_t>(out->channels) *
                          static_cast<size_t>(out->anchors);
  if (a.ElementLength() != expected) {
    throw_coded(env, code::kInvalidOption,
                "Expected output of " + std::to_string(expected) + " floats but received " +
                    std::to_string(a.ElementLength()));
  }
  out->data = a.Data();
  out->keep_alive = Napi::Persistent(raw.As<Napi::Object>());
}

// The pipeline shape for raw outputs of `raw`'s dims and options.inputWidth / inputHeight.
cuda::PipelineConfig post_config(const Napi::Object& o, const RawOutputs& raw) {
  cuda::PipelineConfig pc;
  pc.max_batch = raw.batch;
  pc.channels = raw.channels;
  pc.anchors = raw.anchors;
  pc.input_w = get_int(o, "inputWidth", "options.inputWidth", 1, kMaxSide, code::kInvalidOption);
  pc.input_h = get_int(o, "inputHeight", "options.inputHeight", 1, kMaxSide, code::kInvalidOption);
  return pc;
}

template <class Make>
Napi::Value queue(Napi::Env env, Make&& make) {
  return queue_promise_worker(env, [&]() -> PromiseWorker* { return make(); });
}

// letterbox(images, { width, height, dtype }) -> { tensor, geometry }
Napi::Value TestLetterbox(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return queue(env, [&]() -> PromiseWorker* {
    auto images = std::make_shared<BorrowedImages>();
    read_images(env, info[0], kMaxImages, images.get());
    const Napi::Object o = as_object(env, info[1], "options");
    cuda::PipelineConfig pc;
    pc.input_w = get_int(o, "width", "options.width", 1, kMaxSide, code::kInvalidOption);
    pc.input_h = get_int(o, "height", "options.height", 1, kMaxSide, code::kInvalidOption);
    pc.max_batch = static_cast<int>(images->views.size());
    const cuda::ElementType type = parse_type(env, o, "dtype", true);
    const size_t elems =
        images->views.size() * 3 * static_cast<size_t>(pc.input_w) * static_cast<size_t>(pc.input_h);
    auto buffer = std::make_shared<Napi::Reference<Napi::ArrayBuffer>>(Napi::Persistent(
        Napi::ArrayBuffer::New(env, elems * static_cast<size_t>(cuda::element_bytes(type)))));
    void* out = buffer->Value().Data();
    auto geometry = std::make_shared<std::vector<yolo::LetterboxGeometry>>(images->views.size());
    return new LambdaWorker(
        env, "yolo_trt.cudaTest.letterbox",
        [images, pc, type, out, geometry]() {
          cuda::GpuPipeline pipeline(pc);
          pipeline.letterbox_to_host(images->views.data(), static_cast<int>(images->views.size()), type, out,
                                     geometry->data());
        },
        [buffer, elems, type, geometry](Napi::Env e) -> Napi::Value {
          Napi::Object r = Napi::Object::New(e);
          Napi::ArrayBuffer ab = buffer->Value();
          if (type == cuda::ElementType::kFloat32) r.Set("tensor", Napi::Float32Array::New(e, elems, ab, 0));
          if (type == cuda::ElementType::kFloat16) r.Set("tensor", Napi::Uint16Array::New(e, elems, ab, 0));
          if (type == cuda::ElementType::kUint8) r.Set("tensor", Napi::Uint8Array::New(e, elems, ab, 0));
          Napi::Array g = Napi::Array::New(e, geometry->size());
          for (size_t i = 0; i < geometry->size(); ++i) {
            const yolo::LetterboxGeometry& x = (*geometry)[i];
            g.Set(static_cast<uint32_t>(i), geometry_to_js(e, x.new_w, x.new_h, x.left, x.top, x.ratio));
          }
          r.Set("geometry", g);
          return r;
        });
  });
}

// postprocess(output, { dims, conf, iou, maxDet, agnostic, classes, inputWidth, inputHeight, origSizes })
//   -> { detections }
Napi::Value TestPostprocess(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return queue(env, [&]() -> PromiseWorker* {
    const Napi::Object o = as_object(env, info[1], "options");
    auto raw = std::make_shared<RawOutputs>();
    read_raw(env, info[0], o, raw.get());
    const cuda::PostParams params = read_post_params(env, o, raw->channels - 4);
    const std::vector<int32_t> sizes = read_sizes(env, o.Get("origSizes"), raw->batch, "options.origSizes");
    cuda::PipelineConfig pc = post_config(o, *raw);
    pc.max_det = params.max_det;
    auto rows = std::make_shared<std::vector<cuda::Rows>>();
    return new LambdaWorker(
        env, "yolo_trt.cudaTest.postprocess",
        [raw, params, sizes, pc, rows]() {
          cuda::GpuPipeline pipeline(pc);
          *rows = pipeline.postprocess_host(raw->data, raw->batch, sizes.data(), params);
        },
        [rows](Napi::Env e) -> Napi::Value {
          Napi::Object r = Napi::Object::New(e);
          r.Set("detections", rows_to_js(e, *rows));
          return r;
        });
  });
}

// Inference replaced by an upload of recorded raw outputs (float32), as TensorRT would leave them.
class UploadOutputs final : public cuda::InferenceStep {
 public:
  UploadOutputs(const float* raw, size_t per_image) : raw_(raw), per_image_(per_image) {}
  void enqueue(int batch, void*, void* output, cudaStream_t stream) override {
    cuda::check(cudaMemcpyAsync(output, raw_, static_cast<size_t>(batch) * per_image_ * sizeof(float),
                                cudaMemcpyHostToDevice, stream),
                "cudaMemcpyAsync(injected raw outputs)");
  }

 private:
  const float* raw_;
  size_t per_image_;
};

// pipeline(images, output, { dims, inputWidth, inputHeight, inputType, conf, iou, maxDet, agnostic,
//   classes, imageStats }) -> { detections, timing, stats? }: the whole GPU pipeline, the network replaced
//   by `output`.
Napi::Value TestPipeline(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return queue(env, [&]() -> PromiseWorker* {
    auto images = std::make_shared<BorrowedImages>();
    read_images(env, info[0], kMaxImages, images.get());
    const Napi::Object o = as_object(env, info[2], "options");
    auto raw = std::make_shared<RawOutputs>();
    read_raw(env, info[1], o, raw.get());
    if (static_cast<size_t>(raw->batch) != images->views.size()) {
      throw_coded(env, code::kInvalidOption, "Expected options.dims[0] to equal the number of images");
    }
    const cuda::PostParams params = read_post_params(env, o, raw->channels - 4);
    cuda::PipelineConfig pc = post_config(o, *raw);
    pc.input_type = parse_type(env, o, "inputType", false);
    pc.max_det = params.max_det;
    const bool want_stats = read_image_stats_flag(env, o);
    auto rows = std::make_shared<std::vector<cuda::Rows>>();
    auto times = std::make_shared<cuda::StageTimes>();
    auto stats =
        std::make_shared<std::vector<double>>(want_stats ? images->views.size() * kImageStatsCount : 0);
    return new LambdaWorker(
        env, "yolo_trt.cudaTest.pipeline",
        [images, raw, params, pc, rows, times, stats, want_stats]() {
          cuda::GpuPipeline pipeline(pc);
          UploadOutputs step(raw->data,
                             static_cast<size_t>(raw->channels) * static_cast<size_t>(raw->anchors));
          *rows = pipeline.detect(images->views.data(), raw->batch, params, step, times.get(),
                                  want_stats ? stats->data() : nullptr);
        },
        [rows, times, stats, want_stats](Napi::Env e) -> Napi::Value {
          Napi::Object r = Napi::Object::New(e);
          r.Set("detections", rows_to_js(e, *rows));
          if (want_stats) r.Set("stats", stats_to_js(e, *stats));
          Napi::Object t = Napi::Object::New(e);
          t.Set("preprocess", Napi::Number::New(e, times->preprocess_ms));
          t.Set("inference", Napi::Number::New(e, times->inference_ms));
          t.Set("postprocess", Napi::Number::New(e, times->postprocess_ms));
          r.Set("timing", t);
          return r;
        });
  });
}

Napi::Value samples_to_js(Napi::Env env, const std::vector<float>& us) {
  Napi::Float32Array a = Napi::Float32Array::New(env, us.size());
  for (size_t i = 0; i < us.size(); ++i) a[i] = us[i];
  return a;
}

// timeLetterbox(images, { width, height, dtype, iterations, stats? }) -> Float32Array of microseconds per
//   launch (with stats: the letterbox accumulating the image statistics)
Napi::Value TestTimeLetterbox(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return queue(env, [&]() -> PromiseWorker* {
    auto images = std::make_shared<BorrowedImages>();
    read_images(env, info[0], kMaxImages, images.get());
    const Napi::Object o = as_object(env, info[1], "options");
    cuda::PipelineConfig pc;
    pc.input_w = get_int(o, "width", "options.width", 1, kMaxSide, code::kInvalidOption);
    pc.input_h = get_int(o, "height", "options.height", 1, kMaxSide, code::kInvalidOption);
    pc.input_type = parse_type(env, o, "dtype", false);
    pc.max_batch = static_cast<int>(images->views.size());
    const int iterations = get_int(o, "iterations", "options.iterations", 1, 100000, code::kInvalidOption);
    const bool stats = !o.Get("stats").IsUndefined() && get_bool(o, "stats", "options.stats");
    auto us = std::make_shared<std::vector<float>>();
    return new LambdaWorker(
        env, "yolo_trt.cudaTest.timeLetterbox",
        [images, pc, iterations, stats, us]() {
          cuda::GpuPipeline pipeline(pc);
          *us = pipeline.time_letterbox(images->views.data(), pc.max_batch, iterations, stats);
        },
        [us](Napi::Env e) { return samples_to_js(e, *us); });
  });
}

// timePostprocess(output, { dims, conf, iou, maxDet, agnostic, classes, inputWidth, inputHeight,
//   origSizes, iterations }) -> Float32Array of microseconds per decode + sort + NMS + download
Napi::Value TestTimePostprocess(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return queue(env, [&]() -> PromiseWorker* {
    const Napi::Object o = as_object(env, info[1], "options");
    auto raw = std::make_shared<RawOutputs>();
    read_raw(env, info[0], o, raw.get());
    const cuda::PostParams params = read_post_params(env, o, raw->channels - 4);
    const std::vector<int32_t> sizes = read_sizes(env, o.Get("origSizes"), raw->batch, "options.origSizes");
    cuda::PipelineConfig pc = post_config(o, *raw);
    pc.max_det = params.max_det;
    const int iterations = get_int(o, "iterations", "options.iterations", 1, 100000, code::kInvalidOption);
    auto us = std::make_shared<std::vector<float>>();
    return new LambdaWorker(
        env, "yolo_trt.cudaTest.timePostprocess",
        [raw, params, sizes, pc, iterations, us]() {
          cuda::GpuPipeline pipeline(pc);
          *us = pipeline.time_postprocess(raw->data, raw->batch, sizes.data(), params, iterations);
        },
        [us](Napi::Env e) { return samples_to_js(e, *us); });
  });
}

}  // namespace

void register_gpu(Napi::Env env, Napi::Object exports) {
  Napi::Object t = Napi::Object::New(env);
  t.Set("letterbox", Napi::Function::New(env, TestLetterbox, "letterbox"));
  t.Set("postprocess", Napi::Function::New(env, TestPostprocess, "postprocess"));
  t.Set("pipeline", Napi::Function::New(env, TestPipeline, "pipeline"));
  t.Set("timeLetterbox", Napi::Function::New(env, TestTimeLetterbox, "timeLetterbox"));
  t.Set("timePostprocess", Napi::Function::New(env, TestTimePostprocess, "timePostprocess"));
  exports.Set("cudaTest", t);
#if defined(YOLO_TRT_WITH_TENSORRT)
  register_tensorrt(env, exports);
#endif
}

}  // namespace yolo::addon
