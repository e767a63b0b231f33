#include "trt_engine.h"

#include <string>

#include "core/error.h"
#include "cuda/cuda_raii.h"

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

Engine::Engine(const uint8_t* plan, size_t size, int device)
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
  read_io();
}

void Engine::read_io() {
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
  if (din.nbDims != 4 || dout.nbDims != 3) {
    throw Error(code::kModelUnsupported,
                "Expected engine input [batch, 3, height, width] and output [batch, 4 + classes, "
                "anchors] but received " +
                    dims_text(din) + " and " + dims_text(dout));
  }
  bool dynamic = false;
  for (int32_t i = 0; i < din.nbDims; ++i) dynamic = dynamic || din.d[i] < 0;
  if (dynamic) {
    if (engine_->getNbOptimizationProfiles() < 1) {
      throw Error(code::kModelUnsupported,
                  "The engine has dynamic input dimensions but no optimization profile");
    }
    const nvinfer1::Dims lo = engine_->getProfileShape(in, 0, nvinfer1::OptProfileSelector::kMIN);
    const nvinfer1::Dims opt = engine_->getProfileShape(in, 0, nvinfer1::OptProfileSelector::kOPT);
    const nvinfer1::Dims hi = engine_->getProfileShape(in, 0, nvinfer1::OptProfileSelector::kMAX);
    if (lo.d[2] != hi.d[2] || lo.d[3] != hi.d[3]) {
      throw Error(code::kModelUnsupported, "Expected one input size in the engine's profile but it allows " +
                                               dims_text(lo) + " to " + dims_text(hi));
    }
    io_.dynamic_batch = din.d[0] < 0;
    io_.min_batch = static_cast<int>(lo.d[0]);
    io_.max_batch = static_cast<int>(hi.d[0]);
    io_.input_h = static_cast<int>(opt.d[2]);
    io_.input_w = static_cast<int>(opt.d[3]);
  } else {
    io_.min_batch = io_.max_batch = static_cast<int>(din.d[0]);
    io_.input_h = static_cast<int>(din.d[2]);
    io_.input_w = static_cast<int>(din.d[3]);
  }
  if ((din.d[1] != 3 && din.d[1] != -1) || io_.input_w < 1 || io_.input_h < 1 || io_.max_batch < 1) {
    throw Error(code::kModelUnsupported,
                "Expected engine input [batch, 3, height, width] but received " + dims_text(din));
  }

  // The output size may depend on the input shape: read it from a context with the shape set.
  Ptr<nvinfer1::IExecutionContext> ctx(engine_->createExecutionContext());
  if (!ctx) throw Error(kErrModelLoad, "TensorRT could not create an execution context: " + logger_.errors());
  if (!ctx->setInputShape(in, nvinfer1::Dims4{io_.max_batch, 3, io_.input_h, io_.input_w})) {
    throw Error(kErrModelLoad, "TensorRT refused input shape " + std::to_string(io_.max_batch) + "x3x" +
                                   std::to_string(io_.input_h) + "x" + std::to_string(io_.input_w) + ": " +
                                   logger_.errors());
  }
  const nvinfer1::Dims o = ctx->getTensorShape(out);
  if (o.nbDims != 3 || o.d[1] < 5 || o.d[2] < 1) {
    throw Error(code::kModelUnsupported,
                "Expected engine output [batch, 4 + classes, anchors] but received " + dims_text(o));
  }
  io_.channels = static_cast<int>(o.d[1]);
  io_.anchors = static_cast<int>(o.d[2]);
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
