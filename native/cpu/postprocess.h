// CPU postprocessing of YOLO detect outputs [batch, 4 + nc, anchors]: decode, strict confidence
// threshold, class filter, deterministic sort, 30000 cap, class-offset greedy NMS, max_det, scale_boxes.
// Images are split over threads. Every formula is a native/core function shared with CUDA.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace yolo::cpu {

struct PostprocessOptions {
  int batch = 1;
  int channels = 84;  // 4 + nc
  int anchors = 8400;
  float conf = 0.25f;     // candidates need score > conf (float32)
  double iou = 0.7;       // suppress when iou > this (float iou promoted to double)
  int max_det = 300;      // keep at most this many per image (>= 0)
  bool agnostic = false;  // no class offsets
  // Allowed classes as a per-class flag (size nc), or empty for all classes. The filter applies to each
  // anchor's best class (Ultralytics filters after the argmax).
  std::vector<uint8_t> class_allowed;
  int input_w = 640;  // network input size the boxes are in
  int input_h = 640;
  std::vector<int32_t> orig_sizes;  // [w0, h0] per image
  int threads = 1;
};

// One detection row as returned to JS: [x1, y1, x2, y2, score, cls], original-image pixels.
struct Detection {
  float x1;
  float y1;
  float x2;
  float y2;
  float score;
  float cls;
};

// Throws yolo::Error(ERR_INVALID_OPTION) on inconsistent options.
void validate_postprocess_options(const PostprocessOptions& options);

// raw holds batch * channels * anchors floats. out[i] receives image i's detections, best first.
void postprocess_batch(const float* raw, const PostprocessOptions& options, std::vector<std::vector<Detection>>* out);

}  // namespace yolo::cpu
