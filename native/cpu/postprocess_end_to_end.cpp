// CPU end-to-end postprocess: one pass per image over native/core/end_to_end.h. A few hundred rows per
// image cost microseconds, so images are not spread over threads.
#include "postprocess_end_to_end.h"

#include <cmath>
#include <string>

#include "../core/end_to_end.h"
#include "../core/error.h"
#include "../core/scale_boxes.h"

namespace yolo::cpu {

void validate_end_to_end_options(const EndToEndOptions& o) {
  auto fail = [](const std::string& message) {
    throw Error(code::kInvalidOption, "postprocessEndToEnd: " + message);
  };
  if (o.batch <= 0 || o.rows < 0) {
    fail("expected dims [batch >= 1, rows >= 0, 6] but received [" + std::to_string(o.batch) + ", " +
         std::to_string(o.rows) + ", 6]");
  }
  if (o.num_classes < 1) fail("expected numClasses >= 1 but received " + std::to_string(o.num_classes));
  if (!std::isfinite(o.conf) || o.conf < 0.0f || o.conf > 1.0f) fail("expected conf in [0, 1]");
  if (o.max_det < 0) fail("expected maxDet >= 0 but received " + std::to_string(o.max_det));
  if (!o.class_allowed.empty() && o.class_allowed.size() != static_cast<size_t>(o.num_classes)) {
    fail("internal: class filter size does not match numClasses");
  }
  if (o.input_w <= 0 || o.input_h <= 0) fail("expected a positive input size");
  if (o.orig_sizes.size() != 2 * static_cast<size_t>(o.batch)) {
    fail("expected origSizes of length " + std::to_string(2 * static_cast<size_t>(o.batch)) + " but received " +
         std::to_string(o.orig_sizes.size()));
  }
  for (size_t i = 0; i < o.orig_sizes.size(); ++i) {
    if (o.orig_sizes[i] <= 0) {
      fail("expected positive original sizes but origSizes[" + std::to_string(i) + "] is " +
           std::to_string(o.orig_sizes[i]));
    }
  }
}

void postprocess_end_to_end_batch(const float* raw, const EndToEndOptions& o,
                                  std::vector<std::vector<Detection>>* out) {
  static_assert(sizeof(Detection) == kEndToEndRowLength * sizeof(float), "Detection must be 6 packed floats");
  validate_end_to_end_options(o);
  const size_t per_image = static_cast<size_t>(o.rows) * kEndToEndRowLength;
  const uint8_t* allowed = o.class_allowed.empty() ? nullptr : o.class_allowed.data();
  std::vector<int32_t> keep(static_cast<size_t>(o.rows));
  out->assign(static_cast<size_t>(o.batch), {});
  for (size_t i = 0; i < static_cast<size_t>(o.batch); ++i) {
    const float* rows = raw + i * per_image;
    const EndToEndSelection s =
        end_to_end_select(rows, o.rows, o.conf, allowed, o.num_classes, o.max_det, keep.data());
    if (s.bad_row >= 0) {
      const float v = rows[static_cast<size_t>(s.bad_row) * kEndToEndRowLength + 5];
      throw Error(code::kInference, "End-to-end output of image " + std::to_string(i) + ", row " +
                                        std::to_string(s.bad_row) + ": class column " + std::to_string(v) +
                                        " is not a class id in 0.." + std::to_string(o.num_classes - 1) +
                                        " (is this a detect model's [B, K, 6] output?)");
    }
    const BoxScale scale = box_scale_for(o.input_w, o.input_h, o.orig_sizes[2 * i], o.orig_sizes[2 * i + 1]);
    std::vector<Detection>& dets = (*out)[i];
    dets.resize(static_cast<size_t>(s.count));
    for (int k = 0; k < s.count; ++k) {
      end_to_end_detection(rows + static_cast<size_t>(keep[static_cast<size_t>(k)]) * kEndToEndRowLength, scale,
                           &dets[static_cast<size_t>(k)].x1);
    }
  }
}

}  // namespace yolo::cpu
