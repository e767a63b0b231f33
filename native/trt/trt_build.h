// Builds a serialized TensorRT engine (a "plan") from ONNX bytes. Everything around it (reading files,
// the plan cache and its key, atomic writes, the timing-cache file) is TypeScript: this file takes bytes
// in and gives bytes out, so the part that can only run where TensorRT is stays small.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace yolo::trt {

enum class Precision { kFP32, kFP16, kINT8 };

// INT8 entropy calibration input (TensorRT < 10 only): images already letterboxed by our own
// preprocessing into float32 NCHW, so calibration sees exactly what inference will see.
struct CalibrationSet {
  const float* tensor = nullptr;  // [count, 3, H, W]
  int count = 0;
  int batch = 1;               // images per calibration batch
  std::vector<uint8_t> cache;  // a previous calibration table, or empty
};

// One event of TensorRT's IProgressMonitor (TensorRT >= 10).
struct BuildProgress {
  enum class Kind { kPhaseStart, kStep, kPhaseFinish } kind;
  std::string phase;
  std::string parent;  // enclosing phase, or empty
  int steps = 0;       // kPhaseStart: number of steps of the phase
  int step = 0;        // kStep: the step just completed
};

struct BuildRequest {
  const uint8_t* onnx = nullptr;
  size_t onnx_size = 0;
  // Absolute path of the ONNX file, for models with external weights; may be empty.
  std::string onnx_path;
  Precision precision = Precision::kFP16;
  // Network input size, used when the ONNX declares dynamic height/width (export dynamic=True).
  int input_width = 0;
  int input_height = 0;
  // Optimization profile for a dynamic batch dimension (ignored when the batch is fixed).
  int min_batch = 1;
  int opt_batch = 1;
  int max_batch = 1;
  // Builder workspace limit in bytes; 0 keeps TensorRT's default (all device memory).
  size_t workspace_bytes = 0;
  // A serialized timing cache from an earlier build on the same GPU + TensorRT, or empty.
  std::vector<uint8_t> timing_cache;
  // Required for INT8 on TensorRT < 10 unless the model is already quantized (Q/DQ).
  const CalibrationSet* calibration = nullptr;
  int device = 0;
  // Called on TensorRT's builder thread; must not throw.
  std::function<void(const BuildProgress&)> on_progress;
  // Set from another thread to stop the build (honoured between steps on TensorRT >= 10, and before
  // the build starts on older versions, which have no progress monitor).
  const std::atomic<bool>* cancel = nullptr;
};

struct BuildResult {
  std::vector<uint8_t> plan;
  std::vector<uint8_t> timing_cache;       // updated timing cache (to persist), or empty
  std::vector<uint8_t> calibration_cache;  // calibration table written by TensorRT, or empty
  bool dynamic_batch = false;
  bool quantized_model = false;  // the ONNX carried Q/DQ nodes
  std::vector<std::string> log;  // TensorRT warnings and errors
};

// Throws yolo::Error: ERR_MODEL_LOAD (parse/build failure), ERR_MODEL_UNSUPPORTED (not a YOLO detect
// network, or a precision this TensorRT cannot build for this model), ERR_INVALID_OPTION, ABORT_ERR
// (cancelled), ERR_CUDA / ERR_NO_CUDA_DRIVER.
BuildResult build_engine(const BuildRequest& request);

// What the TensorRT compiled in can do, for capabilities() and option validation in TS.
struct BuildFeatures {
  bool int8_calibration;  // IInt8EntropyCalibrator2 usable
  bool progress_monitor;  // progress + cancellation during the build
  bool strongly_typed;    // precision comes from the model's own types (TensorRT 11+)
};
BuildFeatures build_features();

}  // namespace yolo::trt
