// exports.tensorrt (TensorRT builds only): engine build from ONNX bytes with progress and cancellation,
// plan deserialization, and the Engine object whose detect() runs the whole pipeline on the GPU. The JS
// contract is NativeTensorRt in src/native/binding.ts. File formats, the plan cache, keys and atomic
// writes are TypeScript's job (src/engine-cache/); this file moves bytes and runs workers.
#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../core/decode.h"
#include "../core/error.h"
#include "../core/image_stats.h"
#include "../trt/trt_build.h"
#include "../trt/trt_detector.h"
#include "../trt/trt_engine.h"
#include "../trt/trt_version.h"
#include "gpu_args.h"
#include "gpu_register.h"
#include "js_args.h"
#include "release_on_worker.h"
#include "workers.h"

namespace yolo::addon {
namespace {

Napi::Uint8Array bytes_to_js(Napi::Env env, const std::vector<uint8_t>& bytes) {
  Napi::Uint8Array a = Napi::Uint8Array::New(env, bytes.size());
  if (!bytes.empty()) std::memcpy(a.Data(), bytes.data(), bytes.size());
  return a;
}

Napi::Value bytes_or_null(Napi::Env env, const std::vector<uint8_t>& bytes) {
  return bytes.empty() ? env.Null() : Napi::Value(bytes_to_js(env, bytes));
}

std::vector<uint8_t> copy_bytes_or_empty(Napi::Env env, const Napi::Value& v, const char* name) {
  if (v.IsNull() || v.IsUndefined()) return {};
  if (!is_byte_array(v)) throw_expected(env, code::kInvalidOption, "a Uint8Array or null", name, v);
  const Napi::TypedArray a = v.As<Napi::TypedArray>();
  const auto* p = static_cast<const uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset();
  return std::vector<uint8_t>(p, p + a.ByteLength());
}

const char* type_name(cuda::ElementType t) {
  return t == cuda::ElementType::kFloat16 ? "float16" : "float32";
}

// ---- buildEngine ---------------------------------------------------------------------------------

class BuildWorker final : public PromiseWorker {
 public:
  BuildWorker(Napi::Env env, const Napi::CallbackInfo& info, std::shared_ptr<std::atomic<bool>> cancel)
      : PromiseWorker(env, "yolo_trt.tensorrt.buildEngine"), cancel_(std::move(cancel)) {
    const Napi::Value onnx = info[0];
    if (!is_byte_array(onnx))
      throw_expected(env, code::kInvalidOption, "a Uint8Array of ONNX bytes", "onnx", onnx);
    const Napi::TypedArray bytes = onnx.As<Napi::TypedArray>();
    onnx_ref_ = Napi::Persistent(onnx.As<Napi::Object>());
    req_.onnx = static_cast<const uint8_t*>(bytes.ArrayBuffer().Data()) + bytes.ByteOffset();
    req_.onnx_size = bytes.ByteLength();

    if (!info[1].IsObject()) throw_expected(env, code::kInvalidOption, "an object", "options", info[1]);
    const Napi::Object o = info[1].As<Napi::Object>();
    const std::string precision = get_string(o, "precision", "options.precision");
    if (precision == "fp32") {
      req_.precision = trt::Precision::kFP32;
    } else if (precision == "fp16") {
      req_.precision = trt::Precision::kFP16;
    } else if (precision == "int8") {
      req_.precision = trt::Precision::kINT8;
    } else {
      throw_expected(env, code::kInvalidOption, "one of 'fp32', 'fp16', 'int8'", "options.precision",
                     o.Get("precision"));
    }
    req_.input_width = get_int(o, "inputWidth", "options.inputWidth", 1, kMaxSide, code::kInvalidOption);
    req_.input_height = get_int(o, "inputHeight", "options.inputHeight", 1, kMaxSide, code::kInvalidOption);
    req_.min_batch = get_int(o, "minBatch", "options.minBatch", 1, 4096, code::kInvalidOption);
    req_.opt_batch = get_int(o, "optBatch", "options.optBatch", 1, 4096, code::kInvalidOption);
    req_.max_batch = get_int(o, "maxBatch", "options.maxBatch", 1, 4096, code::kInvalidOption);
    const double workspace = get_number(o, "workspaceBytes", "options.workspaceBytes");
    if (workspace < 0 || workspace > 9.0e15) {
      throw_expected(env, code::kInvalidOption, "a byte count >= 0", "options.workspaceBytes",
                     o.Get("workspaceBytes"));
    }
    req_.workspace_bytes = static_cast<size_t>(workspace);
    req_.device = get_int(o, "device", "options.device", 0, 1024, code::kInvalidOption);
    req_.timing_cache = copy_bytes_or_empty(env, o.Get("timingCache"), "options.timingCache");
    const Napi::Value path = o.Get("onnxPath");
    if (path.IsString()) req_.onnx_path = path.As<Napi::String>().Utf8Value();

    const Napi::Value calib = o.Get("calibration");
    if (!calib.IsNull() && !calib.IsUndefined()) {
      if (!calib.IsObject())
        throw_expected(env, code::kInvalidOption, "an object or null", "options.calibration", calib);
      const Napi::Object c = calib.As<Napi::Object>();
      const Napi::Value tensor = c.Get("tensor");
      if (!is_typed_array_of(tensor, napi_float32_array)) {
        throw_expected(env, code::kInvalidOption, "a Float32Array", "options.calibration.tensor", tensor);
      }
      calibration_.count = get_int(c, "count", "options.calibration.count", 1, 1 << 20, code::kInvalidOption);
      calibration_.batch = get_int(c, "batch", "options.calibration.batch", 1, 4096, code::kInvalidOption);
      const size_t expected = static_cast<size_t>(calibration_.count) * 3 *
                              static_cast<size_t>(req_.input_width) * static_cast<size_t>(req_.input_height);
      const Napi::Float32Array t = tensor.As<Napi::Float32Array>();
      if (t.ElementLength() != expected) {
        throw_coded(env, code::kInvalidOption,
                    "Expected options.calibration.tensor of " + std::to_string(expected) +
                        " floats but received " + std::to_string(t.ElementLength()));
      }
      calibration_.tensor = t.Data();
      calibration_.cache = copy_bytes_or_empty(env, c.Get("cache"), "options.calibration.cache");
      calib_ref_ = Napi::Persistent(tensor.As<Napi::Object>());
      req_.calibration = &calibration_;
    }

    const Napi::Value on_progress = info[2];
    if (on_progress.IsFunction()) {
      progress_ = Napi::ThreadSafeFunction::New(env, on_progress.As<Napi::Function>(),
                                                "yolo_trt.buildProgress", 0, 1);
      has_progress_ = true;
      Napi::ThreadSafeFunction tsfn = progress_;
      req_.on_progress = [tsfn](const trt::BuildProgress& p) mutable {
        auto* event = new trt::BuildProgress(p);
        const napi_status s =
            tsfn.NonBlockingCall(event, [](Napi::Env e, Napi::Function fn, trt::BuildProgress* ev) {
              std::unique_ptr<trt::BuildProgress> owned(ev);
              Napi::Object js = Napi::Object::New(e);
              const char* kind = ev->kind == trt::BuildProgress::Kind::kPhaseStart ? "start"
                                 : ev->kind == trt::BuildProgress::Kind::kStep     ? "step"
                                                                                   : "finish";
              js.Set("kind", kind);
              js.Set("phase", ev->phase);
              js.Set("parent", ev->parent.empty() ? e.Null() : Napi::Value(Napi::String::New(e, ev->parent)));
              js.Set("steps", ev->steps);
              js.Set("step", ev->step);
              try {
                fn.Call({js});
              } catch (const Napi::Error&) {
                // A throwing progress listener must not break the build; the exception is dropped.
              }
            });
        if (s != napi_ok) delete event;
      };
    } else if (!on_progress.IsUndefined() && !on_progress.IsNull()) {
      throw_expected(env, code::kInvalidOption, "a function or undefined", "onProgress", on_progress);
    }
    req_.cancel = cancel_.get();
  }

  ~BuildWorker() override {
    if (has_progress_) progress_.Release();
  }

 protected:
  void Run() override { result_ = trt::build_engine(req_); }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object r = Napi::Object::New(env);
    r.Set("plan", bytes_to_js(env, result_.plan));
    r.Set("timingCache", bytes_or_null(env, result_.timing_cache));
    r.Set("calibrationCache", bytes_or_null(env, result_.calibration_cache));
    r.Set("dynamicBatch", result_.dynamic_batch);
    r.Set("quantizedModel", result_.quantized_model);
    Napi::Array log = Napi::Array::New(env, result_.log.size());
    for (size_t i = 0; i < result_.log.size(); ++i) log.Set(static_cast<uint32_t>(i), result_.log[i]);
    r.Set("log", log);
    return r;
  }

 private:
  std::shared_ptr<std::atomic<bool>> cancel_;
  Napi::ObjectReference onnx_ref_;
  Napi::ObjectReference calib_ref_;
  trt::CalibrationSet calibration_;
  trt::BuildRequest req_;
  trt::BuildResult result_;
  Napi::ThreadSafeFunction progress_;
  bool has_progress_ = false;
};

// buildEngine(onnx, options, onProgress?) -> { promise, cancel() }
Napi::Value BuildEngine(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  Napi::Value promise = queue_promise_worker(env, [&]() -> PromiseWorker* {
    auto worker = std::make_unique<BuildWorker>(env, info, cancel);
    return worker.release();
  });
  Napi::Object job = Napi::Object::New(env);
  job.Set("promise", promise);
  job.Set("cancel", Napi::Function::New(
                        env, [cancel](const Napi::CallbackInfo&) { cancel->store(true); }, "cancel"));
  return job;
}

// ---- Engine ----------------------------------------------------------------------------------------

class EngineWrap final : public Napi::ObjectWrap<EngineWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "TensorRtEngine",
        {InstanceAccessor<&EngineWrap::Info>("info"), InstanceMethod<&EngineWrap::Detect>("detect"),
         InstanceMethod<&EngineWrap::DetectTensor>("detectTensor"),
         InstanceMethod<&EngineWrap::Dispose>("dispose")});
  }

  // Only loadEngine constructs engines: it passes the detector as an External.
  explicit EngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineWrap>(info) {
    if (info.Length() != 1 || !info[0].IsExternal()) {
      throw_coded(info.Env(), code::kInvalidOption,
                  "TensorRtEngine cannot be constructed directly: use loadEngine()");
    }
    auto* holder = info[0].As<Napi::External<std::shared_ptr<trt::Detector>>>().Data();
    detector_ = *holder;
  }

 private:
  std::shared_ptr<trt::Detector> live(Napi::Env env) {
    if (!detector_) throw_coded(env, "ERR_DISPOSED", "The TensorRT engine was disposed");
    return detector_;
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const std::shared_ptr<trt::Detector> d = live(env);
    const trt::EngineIo& io = d->io();
    Napi::Object o = Napi::Object::New(env);
    o.Set("inputName", io.input_name);
    o.Set("outputName", io.output_name);
    o.Set("inputType", type_name(io.input_type));
    o.Set("outputType", type_name(io.output_type));
    o.Set("dynamicBatch", io.dynamic_batch);
    o.Set("minBatch", io.min_batch);
    o.Set("maxBatch", io.max_batch);
    o.Set("batch", d->max_batch());
    o.Set("width", io.input_w);
    o.Set("height", io.input_h);
    o.Set("channels", io.channels);
    o.Set("anchors", io.anchors);
    o.Set("endToEnd", io.end_to_end);
    o.Set("numClasses", d->num_classes());
    o.Set("contexts", d->contexts());
    o.Set("maxDet", d->max_det());
    return o;
  }

  static Napi::Object result_to_js(Napi::Env env, const std::vector<cuda::Rows>& rows,
                                   const cuda::StageTimes& t, const std::vector<double>* stats = nullptr) {
    Napi::Object r = Napi::Object::New(env);
    r.Set("detections", rows_to_js(env, rows));
    if (stats != nullptr) r.Set("stats", stats_to_js(env, *stats));
    Napi::Object timing = Napi::Object::New(env);
    timing.Set("preprocess", t.preprocess_ms);
    timing.Set("inference", t.inference_ms);
    timing.Set("postprocess", t.postprocess_ms);
    r.Set("timing", timing);
    return r;
  }

  // detect(images, params) -> Promise<{ detections, timing, stats? }> (stats with params.imageStats)
  Napi::Value Detect(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return queue_promise_worker(env, [&]() -> PromiseWorker* {
      auto detector = std::make_shared<std::shared_ptr<trt::Detector>>(live(env));
      auto images = std::make_shared<BorrowedImages>();
      read_images(env, info[0], static_cast<uint32_t>((*detector)->max_batch()), images.get());
      const cuda::PostParams params = read_post_params(env, info[1], (*detector)->num_classes());
      const bool want_stats = read_image_stats_flag(env, info[1]);
      auto rows = std::make_shared<std::vector<cuda::Rows>>();
      auto times = std::make_shared<cuda::StageTimes>();
      auto stats =
          std::make_shared<std::vector<double>>(want_stats ? images->views.size() * kImageStatsCount : 0);
      return new LambdaWorker(
          env, "yolo_trt.tensorrt.detect",
          [detector, images, params, rows, times, stats, want_stats]() {
            // A detector disposed meanwhile is destroyed here, off the JS thread, even if detect throws.
            *rows = run_then_release(*detector, [&](trt::Detector& d) {
              return d.detect(images->views.data(), static_cast<int>(images->views.size()), params,
                              times.get(), want_stats ? stats->data() : nullptr);
            });
          },
          [rows, times, stats, want_stats](Napi::Env e) -> Napi::Value {
            return result_to_js(e, *rows, *times, want_stats ? stats.get() : nullptr);
          });
    });
  }

  // detectTensor(tensor, n, params) -> Promise<{ detections, timing }> (boxes in network-input pixels)
  Napi::Value DetectTensor(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return queue_promise_worker(env, [&]() -> PromiseWorker* {
      auto detector = std::make_shared<std::shared_ptr<trt::Detector>>(live(env));
      const trt::EngineIo& io = (*detector)->io();
      const int n = to_int(env, info[1], "n", 1, (*detector)->max_batch(), code::kInvalidOption);
      const size_t expected =
          static_cast<size_t>(n) * 3 * static_cast<size_t>(io.input_w) * static_cast<size_t>(io.input_h);
      if (!is_typed_array_of(info[0], napi_float32_array) ||
          info[0].As<Napi::Float32Array>().ElementLength() != expected) {
        throw_expected(env, code::kInvalidOption, "a Float32Array of " + std::to_string(expected) + " values",
                       "tensor", info[0]);
      }
      const float* data = info[0].As<Napi::Float32Array>().Data();
      auto keep = std::make_shared<Napi::ObjectReference>(Napi::Persistent(info[0].As<Napi::Object>()));
      const cuda::PostParams params = read_post_params(env, info[2], (*detector)->num_classes());
      auto rows = std::make_shared<std::vector<cuda::Rows>>();
      auto times = std::make_shared<cuda::StageTimes>();
      return new LambdaWorker(
          env, "yolo_trt.tensorrt.detectTensor",
          [detector, data, n, params, rows, times, keep]() {
            *rows = run_then_release(
                *detector, [&](trt::Detector& d) { return d.detect_tensor(data, n, params, times.get()); });
          },
          [rows, times](Napi::Env e) -> Napi::Value { return result_to_js(e, *rows, *times); });
    });
  }

  // dispose() -> Promise<void>: frees the contexts, buffers and engine off the JS thread (once the
  // requests still running, which hold their own reference, have finished).
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto detector = std::make_shared<std::shared_ptr<trt::Detector>>(std::move(detector_));
    detector_.reset();
    return queue_promise_worker(env, [&]() -> PromiseWorker* {
      return new LambdaWorker(
          env, "yolo_trt.tensorrt.dispose", [detector]() { detector->reset(); },
          [](Napi::Env e) -> Napi::Value { return e.Undefined(); });
    });
  }

  std::shared_ptr<trt::Detector> detector_;
};

// loadEngine(plan, { contexts, maxBatch, device }) -> Promise<TensorRtEngine>
Napi::Value LoadEngine(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* constructor = static_cast<Napi::FunctionReference*>(info.Data());
  return queue_promise_worker(env, [&]() -> PromiseWorker* {
    const Napi::Value plan = info[0];
    if (!is_byte_array(plan))
      throw_expected(env, code::kInvalidOption, "a Uint8Array holding a TensorRT plan", "plan", plan);
    const Napi::TypedArray bytes = plan.As<Napi::TypedArray>();
    auto keep = std::make_shared<Napi::ObjectReference>(Napi::Persistent(plan.As<Napi::Object>()));
    const uint8_t* data = static_cast<const uint8_t*>(bytes.ArrayBuffer().Data()) + bytes.ByteOffset();
    const size_t size = bytes.ByteLength();
    if (!info[1].IsObject()) throw_expected(env, code::kInvalidOption, "an object", "options", info[1]);
    const Napi::Object o = info[1].As<Napi::Object>();
    trt::DetectorOptions options;
    options.contexts = get_int(o, "contexts", "options.contexts", 1, 64, code::kInvalidOption);
    options.max_batch = get_int(o, "maxBatch", "options.maxBatch", 0, 4096, code::kInvalidOption);
    // The per-call maxDet ceiling: detection buffers are sized for it once, here.
    if (!o.Get("maxDet").IsUndefined()) {
      options.max_det = get_int(o, "maxDet", "options.maxDet", 0, kMaxNmsCandidates, code::kInvalidOption);
    }
    const int device = get_int(o, "device", "options.device", 0, 1024, code::kInvalidOption);
    // Optional, from the model's metadata: imgsz [h, w] for dynamic-H/W engines, endToEnd, numClasses.
    trt::EngineOptions engine_options;
    const Napi::Value imgsz = o.Get("imgsz");
    if (!imgsz.IsUndefined() && !imgsz.IsNull()) {
      if (!imgsz.IsArray() || imgsz.As<Napi::Array>().Length() != 2) {
        throw_expected(env, code::kInvalidOption, "an array [height, width]", "options.imgsz", imgsz);
      }
      const Napi::Array hw = imgsz.As<Napi::Array>();
      engine_options.imgsz_h = to_int(env, hw.Get(0u), "options.imgsz[0]", 1, kMaxSide, code::kInvalidOption);
      engine_options.imgsz_w = to_int(env, hw.Get(1u), "options.imgsz[1]", 1, kMaxSide, code::kInvalidOption);
    }
    const Napi::Value e2e = o.Get("endToEnd");
    if (!e2e.IsUndefined() && !e2e.IsNull()) {
      if (!e2e.IsBoolean()) throw_expected(env, code::kInvalidOption, "a boolean", "options.endToEnd", e2e);
      engine_options.end_to_end = e2e.As<Napi::Boolean>().Value() ? 1 : 0;
    }
    if (!o.Get("numClasses").IsUndefined()) {
      options.num_classes = get_int(o, "numClasses", "options.numClasses", 1, 1 << 20, code::kInvalidOption);
    }
    auto detector = std::make_shared<std::shared_ptr<trt::Detector>>();
    return new LambdaWorker(
        env, "yolo_trt.tensorrt.loadEngine",
        [keep, data, size, options, device, engine_options, detector]() {
          auto engine = std::make_shared<trt::Engine>(data, size, device, engine_options);
          *detector = std::make_shared<trt::Detector>(std::move(engine), options);
        },
        [constructor, detector](Napi::Env e) -> Napi::Value {
          return constructor->New({Napi::External<std::shared_ptr<trt::Detector>>::New(e, detector.get())});
        });
  });
}

}  // namespace

void register_tensorrt(Napi::Env env, Napi::Object exports) {
  Napi::Object t = Napi::Object::New(env);
  t.Set("version", trt::linked_version());
  t.Set("compiledVersion", trt::compiled_version());
  const trt::BuildFeatures f = trt::build_features();
  Napi::Object features = Napi::Object::New(env);
  features.Set("int8Calibration", f.int8_calibration);
  features.Set("progressMonitor", f.progress_monitor);
  features.Set("stronglyTyped", f.strongly_typed);
  t.Set("features", features);
  t.Set("buildEngine", Napi::Function::New(env, BuildEngine, "buildEngine"));
  // The class constructor lives as long as the module instance: the reference is owned by the
  // loadEngine function's finalizer.
  auto* constructor = new Napi::FunctionReference(Napi::Persistent(EngineWrap::Define(env)));
  Napi::Function load = Napi::Function::New(env, LoadEngine, "loadEngine", constructor);
  napi_add_finalizer(
      env, load, constructor,
      [](napi_env, void* data, void*) { delete static_cast<Napi::FunctionReference*>(data); }, nullptr,
      nullptr);
  t.Set("loadEngine", load);
  exports.Set("tensorrt", t);
}

}  // namespace yolo::addon
