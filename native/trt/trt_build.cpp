#include "trt_build.h"

#include <NvOnnxParser.h>

#include <memory>
#include <string>

#include "core/error.h"
#include "cuda/cuda_raii.h"
#include "trt_calibrator.h"
#include "trt_logger.h"
#include "trt_progress.h"
#include "trt_version.h"

namespace yolo::trt {

namespace {

bool cancelled(const BuildRequest& r) {
  return r.cancel != nullptr && r.cancel->load();
}

[[noreturn]] void throw_cancelled() {
  throw Error("ABORT_ERR", "The TensorRT engine build was cancelled");
}

std::string with_log(std::string message, const Logger& logger) {
  const std::string errors = logger.errors();
  if (!errors.empty()) message += ": " + errors;
  return message;
}

std::string dims_text(const nvinfer1::Dims& d) {
  std::string s = "[";
  for (int32_t i = 0; i < d.nbDims; ++i) s += (i ? ", " : "") + std::to_string(d.d[i]);
  return s + "]";
}

std::string parser_errors(const nvonnxparser::IParser& parser) {
  std::string out;
  for (int i = 0; i < parser.getNbErrors(); ++i) {
    const nvonnxparser::IParserError* e = parser.getError(i);
    if (e == nullptr) continue;
    if (!out.empty()) out += "; ";
    out += e->desc();
    if (e->node() >= 0) out += " (node " + std::to_string(e->node()) + ")";
  }
  return out;
}

bool has_quantize_layers(const nvinfer1::INetworkDefinition& network) {
  for (int32_t i = 0; i < network.getNbLayers(); ++i) {
    const nvinfer1::LayerType t = network.getLayer(i)->getType();
    if (t == nvinfer1::LayerType::kQUANTIZE || t == nvinfer1::LayerType::kDEQUANTIZE) return true;
  }
  return false;
}

std::vector<uint8_t> host_memory_bytes(nvinfer1::IHostMemory* mem) {
  Ptr<nvinfer1::IHostMemory> owned(mem);
  if (!owned || owned->size() == 0) return {};
  const auto* p = static_cast<const uint8_t*>(owned->data());
  return std::vector<uint8_t>(p, p + owned->size());
}

// The single image input [B, 3, H, W] of a YOLO export, validated.
struct InputShape {
  nvinfer1::ITensor* tensor;
  bool dynamic_batch;
  bool dynamic_size;
  int fixed_batch;  // when !dynamic_batch
  int height;
  int width;
};

InputShape inspect_input(const nvinfer1::INetworkDefinition& network, const BuildRequest& r) {
  if (network.getNbInputs() != 1) {
    throw Error(code::kModelUnsupported, "Expected 1 input for a YOLO detect model but the ONNX has " +
                                             std::to_string(network.getNbInputs()));
  }
  if (network.getNbOutputs() != 1) {
    throw Error(code::kModelUnsupported,
                "Expected 1 output ([batch, 4 + classes, anchors], or [batch, K, 6] end-to-end) for a YOLO detect model but the ONNX has " +
                    std::to_string(network.getNbOutputs()) + " (segment/pose exports are not supported)");
  }
  nvinfer1::ITensor* input = network.getInput(0);
  const nvinfer1::Dims d = input->getDimensions();
  if (d.nbDims != 4 || (d.d[1] != 3 && d.d[1] != -1)) {
    throw Error(code::kModelUnsupported, std::string("Expected input '") + input->getName() +
                                             "' of shape [batch, 3, height, width] but the ONNX declares " +
                                             dims_text(d));
  }
  InputShape s{input,
               d.d[0] < 0,
               d.d[2] < 0 || d.d[3] < 0,
               d.d[0] < 0 ? 0 : static_cast<int>(d.d[0]),
               static_cast<int>(d.d[2]),
               static_cast<int>(d.d[3])};
  if (s.dynamic_size) {
    if (r.input_width <= 0 || r.input_height <= 0) {
      throw Error(code::kModelUnsupported, "The ONNX input has a dynamic height/width " + dims_text(d) +
                                               " and no input size (imgsz) was given");
    }
    s.height = r.input_height;
    s.width = r.input_width;
  }
  return s;
}

void set_precision(nvinfer1::IBuilderConfig& config, const InputShape& in, bool quantized,
                   const BuildRequest& r) {
#if YOLO_TRT_STRONGLY_TYPED_ONLY
  // TensorRT 11 infers every tensor's type from the model: there is no FP16/INT8 switch to flip.
  (void)config;
  if (r.precision == Precision::kFP16 && in.tensor->getType() != nvinfer1::DataType::kHALF) {
    throw Error(code::kModelUnsupported,
                "TensorRT " + compiled_version() +
                    " builds strongly typed networks: precision 'fp16' needs an FP16 ONNX model (Ultralytics "
                    "export with half=True) but this model's input is float32. Use precision 'fp32' or "
                    "re-export the model");
  }
  if (r.precision == Precision::kINT8 && !quantized) {
    throw Error(
        code::kModelUnsupported,
        "TensorRT " + compiled_version() +
            " has no INT8 calibration: precision 'int8' needs an explicitly quantized ONNX model (Q/DQ "
            "nodes, e.g. from NVIDIA ModelOpt) and this model has none");
  }
#else
  (void)in;
  if (r.precision == Precision::kFP32) {
    // TF32 is on by default from Ampere; 'fp32' is the accurate choice, so keep full float32 math.
    config.clearFlag(nvinfer1::BuilderFlag::kTF32);
    return;
  }
  // Weakly typed precision: deprecated from 10.12 but honoured by every 10.x (see trt_version.h).
  YOLO_TRT_ALLOW_DEPRECATED_BEGIN
  config.setFlag(nvinfer1::BuilderFlag::kFP16);
  if (r.precision == Precision::kINT8) {
    config.setFlag(nvinfer1::BuilderFlag::kINT8);  // FP16 stays on as the fallback for unquantized layers
  }
  YOLO_TRT_ALLOW_DEPRECATED_END
  if (r.precision == Precision::kINT8) {
#if !YOLO_TRT_HAS_CALIBRATOR
    if (!quantized) {
      throw Error(code::kModelUnsupported,
                  "TensorRT " + compiled_version() +
                      " deprecates implicit INT8 calibration: precision 'int8' needs an explicitly quantized "
                      "ONNX model (Q/DQ nodes, e.g. from NVIDIA ModelOpt) and this model has none");
    }
#else
    if (!quantized && (r.calibration == nullptr || r.calibration->count <= 0)) {
      throw Error(code::kInvalidOption,
                  "Expected calibration images for precision 'int8' (this model has no Q/DQ nodes) but "
                  "received none");
    }
#endif
  }
#endif
}

}  // namespace

BuildFeatures build_features() {
  return BuildFeatures{YOLO_TRT_HAS_CALIBRATOR != 0, YOLO_TRT_HAS_PROGRESS_MONITOR != 0,
                       YOLO_TRT_STRONGLY_TYPED_ONLY != 0};
}

BuildResult build_engine(const BuildRequest& r) {
  if (r.onnx == nullptr || r.onnx_size == 0) {
    throw Error(code::kInvalidOption, "Expected ONNX model bytes but received an empty buffer");
  }
  if (r.min_batch < 1 || r.opt_batch < r.min_batch || r.max_batch < r.opt_batch) {
    throw Error(code::kInvalidOption, "Expected 1 <= minBatch <= optBatch <= maxBatch but received " +
                                          std::to_string(r.min_batch) + ", " + std::to_string(r.opt_batch) +
                                          ", " + std::to_string(r.max_batch));
  }
  if (cancelled(r)) throw_cancelled();
  cuda::DeviceScope device(r.device);

  // Owners in creation order; they are destroyed in reverse (parser before network before builder).
  Logger logger(nvinfer1::ILogger::Severity::kWARNING);
  Ptr<nvinfer1::IBuilder> builder(nvinfer1::createInferBuilder(logger));
  if (!builder) throw Error(kErrModelLoad, with_log("TensorRT could not create a builder", logger));
#if NV_TENSORRT_MAJOR < 10
  // Explicit batch is the only mode ONNX models use; TensorRT 10 made it the default (and the flag
  // deprecated).
  const uint32_t flags =
      1U << static_cast<uint32_t>(nvinfer1::NetworkDefinitionCreationFlag::kEXPLICIT_BATCH);
#else
  const uint32_t flags = 0;
#endif
  Ptr<nvinfer1::INetworkDefinition> network(builder->createNetworkV2(flags));
  if (!network) throw Error(kErrModelLoad, with_log("TensorRT could not create a network", logger));
  Ptr<nvonnxparser::IParser> parser(nvonnxparser::createParser(*network, logger));
  if (!parser) throw Error(kErrModelLoad, with_log("TensorRT could not create an ONNX parser", logger));
  if (!parser->parse(r.onnx, r.onnx_size, r.onnx_path.empty() ? nullptr : r.onnx_path.c_str())) {
    std::string why = parser_errors(*parser);
    if (why.empty()) why = logger.errors();
    throw Error(kErrModelLoad, "TensorRT could not parse the ONNX model: " + why);
  }

  const InputShape in = inspect_input(*network, r);
  const bool quantized = has_quantize_layers(*network);

  Ptr<nvinfer1::IBuilderConfig> config(builder->createBuilderConfig());
  if (!config) throw Error(kErrModelLoad, with_log("TensorRT could not create a builder config", logger));
  if (r.workspace_bytes > 0)
    config->setMemoryPoolLimit(nvinfer1::MemoryPoolType::kWORKSPACE, r.workspace_bytes);
  set_precision(*config, in, quantized, r);

  // A profile is needed whenever any input dimension is dynamic. A fixed batch keeps its size.
  nvinfer1::IOptimizationProfile* profile = nullptr;
  if (in.dynamic_batch || in.dynamic_size) {
    profile = builder->createOptimizationProfile();
    const char* name = in.tensor->getName();
    const int b_min = in.dynamic_batch ? r.min_batch : in.fixed_batch;
    const int b_opt = in.dynamic_batch ? r.opt_batch : in.fixed_batch;
    const int b_max = in.dynamic_batch ? r.max_batch : in.fixed_batch;
    const bool ok = profile->setDimensions(name, nvinfer1::OptProfileSelector::kMIN,
                                           nvinfer1::Dims4{b_min, 3, in.height, in.width}) &&
                    profile->setDimensions(name, nvinfer1::OptProfileSelector::kOPT,
                                           nvinfer1::Dims4{b_opt, 3, in.height, in.width}) &&
                    profile->setDimensions(name, nvinfer1::OptProfileSelector::kMAX,
                                           nvinfer1::Dims4{b_max, 3, in.height, in.width});
    if (!ok || config->addOptimizationProfile(profile) < 0) {
      throw Error(kErrModelLoad, with_log("TensorRT refused the optimization profile (batch " +
                                              std::to_string(b_min) + ".." + std::to_string(b_max) + ")",
                                          logger));
    }
  }

#if YOLO_TRT_HAS_CALIBRATOR
  std::unique_ptr<EntropyCalibrator> calibrator;
  if (r.precision == Precision::kINT8 && !quantized) {
    calibrator =
        std::make_unique<EntropyCalibrator>(*r.calibration, in.tensor->getName(), 3, in.height, in.width);
    config->setInt8Calibrator(calibrator.get());
    if (profile != nullptr) {
      // Calibration runs at one shape: the profile's kOPT, which must be the calibration batch.
      nvinfer1::IOptimizationProfile* calib = builder->createOptimizationProfile();
      const int b = in.dynamic_batch ? calibrator->getBatchSize() : in.fixed_batch;
      const nvinfer1::Dims4 dims{b, 3, in.height, in.width};
      const char* name = in.tensor->getName();
      if (!calib->setDimensions(name, nvinfer1::OptProfileSelector::kMIN, dims) ||
          !calib->setDimensions(name, nvinfer1::OptProfileSelector::kOPT, dims) ||
          !calib->setDimensions(name, nvinfer1::OptProfileSelector::kMAX, dims) ||
          !config->setCalibrationProfile(calib)) {
        throw Error(kErrModelLoad, with_log("TensorRT refused the calibration profile", logger));
      }
    }
  }
#endif

  // Timing cache: a corrupt or foreign cache is not fatal, the build just starts from an empty one.
  Ptr<nvinfer1::ITimingCache> timing(config->createTimingCache(r.timing_cache.data(), r.timing_cache.size()));
  if (!timing && !r.timing_cache.empty()) timing.reset(config->createTimingCache(nullptr, 0));
  if (timing && !config->setTimingCache(*timing, false)) {
    timing.reset(config->createTimingCache(nullptr, 0));
    if (timing) config->setTimingCache(*timing, false);
  }

#if YOLO_TRT_HAS_PROGRESS_MONITOR
  ProgressMonitor monitor(r.on_progress, r.cancel);
  config->setProgressMonitor(&monitor);
#endif

  if (cancelled(r)) throw_cancelled();
  Ptr<nvinfer1::IHostMemory> plan(builder->buildSerializedNetwork(*network, *config));
  if (cancelled(r)) throw_cancelled();
  if (!plan || plan->size() == 0) {
#if YOLO_TRT_HAS_CALIBRATOR
    if (calibrator && !calibrator->error().empty()) {
      throw Error(kErrModelLoad, "INT8 calibration failed: " + calibrator->error());
    }
#endif
    throw Error(kErrModelLoad, with_log("TensorRT could not build an engine for this model", logger));
  }

  BuildResult result;
  const auto* p = static_cast<const uint8_t*>(plan->data());
  result.plan.assign(p, p + plan->size());
  if (const nvinfer1::ITimingCache* used = config->getTimingCache()) {
    result.timing_cache = host_memory_bytes(used->serialize());
  }
#if YOLO_TRT_HAS_CALIBRATOR
  if (calibrator) result.calibration_cache = calibrator->written_cache();
#endif
  result.dynamic_batch = in.dynamic_batch;
  result.quantized_model = quantized;
  result.log = logger.messages();
  return result;
}

}  // namespace yolo::trt
