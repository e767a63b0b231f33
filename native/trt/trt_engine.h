// A deserialized TensorRT engine and what yolo-trt needs to know about its input and output. Owners are
// members in creation order (logger, runtime, engine), so they are destroyed in reverse: the engine
// before the runtime that made it, the logger last.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cuda/kernels.h"
#include "trt_logger.h"
#include "trt_version.h"

namespace yolo::trt {

struct EngineIo {
  std::string input_name;
  std::string output_name;
  cuda::ElementType input_type = cuda::ElementType::kFloat32;
  cuda::ElementType output_type = cuda::ElementType::kFloat32;
  bool dynamic_batch = false;
  int min_batch = 1;  // fixed batch: min == max == the engine's batch
  int max_batch = 1;
  int input_w = 0;
  int input_h = 0;
  int channels = 0;  // 4 + nc (end-to-end: K rows), read from a context with the input shape set
  int anchors = 0;   // end-to-end: 6
  bool end_to_end = false;  // output [batch, K, 6] (engine_layout.h)
  std::vector<int64_t> input_dims;  // as the engine declares them (-1 = dynamic)
  std::vector<int64_t> output_dims;
};

// What the caller knows from the model's metadata (an Ultralytics .engine header, or the ONNX it was
// built from): the imgsz to run a dynamic-H/W engine at (0 = its profile's opt size) and whether the
// output is end-to-end (1 yes, 0 no, -1 decide by shape). See engine_layout.h.
struct EngineOptions {
  int imgsz_h = 0;
  int imgsz_w = 0;
  int end_to_end = -1;
};

class Engine {
 public:
  // Deserializes a bare plan (an Ultralytics .engine's header is stripped by the caller). A plan from
  // another TensorRT version or GPU, or a corrupt one, throws ERR_ENGINE_INCOMPATIBLE (the caller
  // rebuilds from ONNX); a plan that is not a YOLO detect engine throws ERR_MODEL_UNSUPPORTED.
  Engine(const uint8_t* plan, size_t size, int device, const EngineOptions& options = {});
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const EngineIo& io() const noexcept { return io_; }
  int device() const noexcept { return device_; }
  // A new execution context (uses optimization profile 0).
  Ptr<nvinfer1::IExecutionContext> create_context();
  // TensorRT errors logged since the last call (for error messages after a failed enqueue).
  std::string take_errors();

 private:
  void read_io(const EngineOptions& options);

  int device_;
  Logger logger_;
  Ptr<nvinfer1::IRuntime> runtime_;
  Ptr<nvinfer1::ICudaEngine> engine_;
  EngineIo io_;
};

}  // namespace yolo::trt
