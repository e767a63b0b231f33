// INT8 entropy calibration for TensorRT < 10, fed with images letterboxed by our own preprocessing (so
// the activation ranges TensorRT measures are those of the tensors inference will see).
//
// TensorRT 10 deprecated IInt8EntropyCalibrator2 (implicit quantization) and 11 removed it: there, INT8
// comes from an explicitly quantized (Q/DQ) ONNX model and this file compiles to nothing.
#pragma once

#include "trt_version.h"

#if YOLO_TRT_HAS_CALIBRATOR

#include <string>
#include <vector>

#include "cuda/cuda_raii.h"
#include "trt_build.h"

namespace yolo::trt {

class EntropyCalibrator final : public nvinfer1::IInt8EntropyCalibrator2 {
 public:
  // `set` must outlive the calibrator. `input_name` is the network input the batches are for.
  EntropyCalibrator(const CalibrationSet& set, std::string input_name, int channels, int height, int width);

  int32_t getBatchSize() const noexcept override { return batch_; }
  bool getBatch(void* bindings[], char const* names[], int32_t nb_bindings) noexcept override;
  void const* readCalibrationCache(std::size_t& length) noexcept override;
  void writeCalibrationCache(void const* ptr, std::size_t length) noexcept override;

  // The table TensorRT wrote (to persist), or empty.
  const std::vector<uint8_t>& written_cache() const noexcept { return written_; }
  // A CUDA error hit inside getBatch (TensorRT only sees `false`), or empty.
  const std::string& error() const noexcept { return error_; }

 private:
  const CalibrationSet& set_;
  std::string input_name_;
  size_t image_elems_;
  int batch_;
  int next_ = 0;
  cuda::DeviceBuffer device_;
  std::vector<uint8_t> written_;
  std::string error_;
};

}  // namespace yolo::trt

#endif  // YOLO_TRT_HAS_CALIBRATOR
