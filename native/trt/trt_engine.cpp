#include "trt_engine.h"

#include <string>

#include "core/error.h"
#include "cuda/cuda_raii.h"
#include "engine_layout.h"

namespace yolo::trt {
namespace {

std::string dims_text(const nvinfer1::Dims& d) {
  std::string s = "[";
  for (int32_t i = 0; i < d.nbDims; ++i) s += (i ? ", " : "") + std::to_string(d.d[i]);
  return s + "]";
}

std::vector<int64_t> dims_vector(const nvinfer1::Dims& d) {
  std::vector<int64_t> v;
  for (int32_t i = 0; i < d.nbDims; ++i) v.push_back(static_cast<int64_t>(d.d[i]));
  return v;
}

cuda::ElementType element_type(nvinfer1::DataType t, const char* tensor) {
  switch (t) {
    case nvinfer1::DataType::kFLOAT:
      return cuda::ElementType::kFloat32;
    case nvinfer1::DataType::kHALF:
      return cuda::ElementType::kFloat16;
    default:
      throw Error(code::kModelUnsupported, std::string("Expected float32 or float16 for engine tensor '") +
                                               tensor + "' but it has TensorRT data type " +
                                               std::to_string(static_cast<int>(t)));
  }
}

}  // namespace

Engine::Engine(const uint8_t* plan, size_t size, int device, const EngineOptions& options)
    : device_(device), logger_(nvinfer1::ILogger::Severity::kWARNING) {
  if (plan == nullptr || size == 0) {
    throw Error(code::kEngineIncompatible, "Expected a TensorRT plan but received an empty buffer");
  }
  cuda::DeviceScope scope(device_);
  runtime_.reset(nvinfer1::createInferRuntime(logger_));
  if (!runtime_) throw Error(kErrModelLoad, "TensorRT could not create a runtime: " + logger_.errors());
  engine_.reset(runtime_->deserializeCudaEngine(plan, size));
  if (!engine_) {
    const std::string why = logger_.errors();
    throw Error(code::kEngineIncompatible,
                "TensorRT " + linked_version() +
                    " could not load this engine (built by another TensorRT version "
                    "or for another GPU, or corrupt)" +
                    (why.empty() ? std::string() : ": " + why));
  }
  read_io(options);
}

void Engine::read_io(const EngineOptions& options) {
  const int32_t count = engine_->getNbIOTensors();
  int inputs = 0;
  int outputs = 0;
  for (int32_t i = 0; i < count; ++i) {
    const char* name = engine_->getIOTensorName(i);
    if (engine_->getTensorIOMode(name) == nvinfer1::TensorIOMode::kINPUT) {
      ++inputs;
      io_.input_name = name;
    } else {
      ++outputs;
      io_.output_name = name;
    }
  }
  if (inputs != 1 || outputs != 1) {
    throw Error(code::kModelUnsupported,
                "Expected an engine with 1 input and 1 output (a YOLO detect model) but it has " +
                    std::to_string(inputs) + " inputs and " + std::to_string(outputs) + " outputs");
  }
  const char* in = io_.input_name.c_str();
  const char* out = io_.output_name.c_str();
  io_.input_type = element_type(engine_->getTensorDataType(in), in);
  io_.output_type = element_type(engine_->getTensorDataType(out), out);
  if (engine_->getTensorFormat(in) != nvinfer1::TensorFormat::kLINEAR ||
      engine_->getTensorFormat(out) != nvinfer1::TensorFormat::kLINEAR) {
    throw Error(code::kModelUnsupported, "Expected linear (NCHW) engine input and output formats");
  }
  const nvinfer1::Dims din = engine_->getTensorShape(in);
  const nvinfer1::Dims dout = engine_->getTensorShape(out);
  io_.input_dims = dims_vector(din);
  io_.output_dims = dims_vector(dout);
  if (dout.nbDims != 3) {
    throw Error(code::kModelUnsupported,
                "Expected engine output [batch, 4 + classes, anchors] or [batch, K, 6] but received " +
                    dims_text(dout));
  }
  // Profile 0 (Ultralytics builds one): batch range and, for dynamic=True, the H/W range.
  ProfileDims profile;
  const bool has_profile = engine_->getNbOptimizationProfiles() >= 1;
  if (has_profile) {
    profile.min = dims_vector(engine_->getProfileShape(in, 0, nvinfer1::OptProfileSelector::kMIN));
    profile.opt = dims_vector(engine_->getProfileShape(in, 0, nvinfer1::OptProfileSelector::kOPT));
    profile.max = dims_vector(engine_->getProfileShape(in, 0, nvinfer1::OptProfileSelector::kMAX));
  }
  const InputChoice choice =
      choose_input(io_.input_dims, has_profile ? &profile : nullptr, options.imgsz_h, options.imgsz_w);
  io_.dynamic_batch = choice.dynamic_batch;
  io_.min_batch = choice.min_batch;
  io_.max_batch = choice.max_batch;
  io_.input_h = choice.input_h;
  io_.input_w = choice.input_w;

  // The output size may depend on the input shape: read it from a context with the shape set.
  Ptr<nvinfer1::IExecutionContext> ctx(engine_->createExecutionContext());
  if (!ctx) throw Error(kErrModelLoad, "TensorRT could not create an execution context: " + logger_.errors());
  if (!ctx->setInputShape(in, nvinfer1::Dims4{io_.max_batch, 3, io_.input_h, io_.input_w})) {
    throw Error(kErrModelLoad, "TensorRT refused input shape " + std::to_string(io_.max_batch) + "x3x" +
                                   std::to_string(io_.input_h) + "x" + std::to_string(io_.input_w) + ": " +
                                   logger_.errors());
  }
  const OutputLayout layout = output_layout(dims_vector(ctx->getTensorShape(out)), choice, options.end_to_end);
  io_.end_to_end = layout.end_to_end;
  io_.channels = layout.channels;
  io_.anchors = layout.anchors;
}

Ptr<nvinfer1::IExecutionContext> Engine::create_context() {
  cuda::DeviceScope scope(device_);
  Ptr<nvinfer1::IExecutionContext> ctx(engine_->createExecutionContext());
  if (!ctx) {
    throw Error(kErrModelLoad, "TensorRT could not create an execution context (out of device memory?): " +
                                   logger_.errors());
  }
  return ctx;
}

std::string Engine::take_errors() {
  std::string e = logger_.errors();
  logger_.clear();
  return e;
}

}  // namespace yolo::trt
