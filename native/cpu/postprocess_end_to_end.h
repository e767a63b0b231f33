// CPU postprocessing of end-to-end detect outputs [batch, K, 6] (rows x1, y1, x2, y2, score, cls in
// network-input pixels): strict score > conf, class filter, the first max_det rows in the model's order,
// scale_boxes. The per-image work is native/core/end_to_end.h, shared with the CUDA kernel.
#pragma once

#include <cstdint>
#include <vector>

#include "postprocess.h"

namespace yolo::cpu {

struct EndToEndOptions {
  int batch = 1;
  int rows = 300;  // K rows per image
  int num_classes = 80;
  float conf = 0.25f;  // rows need score > conf (float32)
  int max_det = 300;   // keep at most this many per image (>= 0)
  // Allowed classes as a per-class flag (size num_classes), or empty for all classes.
  std::vector<uint8_t> class_allowed;
  int input_w = 640;  // network input size the boxes are in
  int input_h = 640;
  std::vector<int32_t> orig_sizes;  // [w0, h0] per image
};

// Throws yolo::Error(ERR_INVALID_OPTION) on inconsistent options.
void validate_end_to_end_options(const EndToEndOptions& options);

// raw holds batch * rows * 6 floats. out[i] receives image i's detections in the model's order.
// Throws yolo::Error(ERR_INFERENCE) when a row above conf has a class column that is not a class id.
void postprocess_end_to_end_batch(const float* raw, const EndToEndOptions& options,
                                  std::vector<std::vector<Detection>>* out);

}  // namespace yolo::cpu
