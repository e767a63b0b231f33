// Postprocessing of end-to-end detect outputs (YOLO26 and YOLOv10 by default, YOLOv8/YOLO11 exported
// with nms=True): [batch, K, 6], each row (x1, y1, x2, y2, score, cls) in network-input pixels, already
// ranked by the model. There is no NMS: a row is kept when score > conf (strict, float32) and its class
// passes the `classes` filter; the first max_det kept rows, in the model's order, are the detections,
// and their boxes go back to the original image with the same scale_boxes as the classic path.
// `iou` and `agnostic` have no effect. See docs/exports.md.
//
// Everything here is YOLO_HD: the CPU pipeline (native/cpu/postprocess_end_to_end.cpp) runs it per image
// and the CUDA kernel (native/cuda/end_to_end_kernels.cu) runs the very same function, one thread per
// image (K is a few hundred rows, a sequential scan is the cheapest exact answer).
#pragma once

#include <stdint.h>

#include "decode.h"
#include "hd.h"
#include "scale_boxes.h"

namespace yolo {

// Floats per row of a detect end-to-end output.
constexpr int kEndToEndRowLength = 6;

// A row's class id: the class column holds a whole number written as float. Anything else (NaN,
// fractional, negative, >= nc) is not a class id and returns -1.
YOLO_HD int end_to_end_class(float v, int nc) {
  if (!(v >= 0.0f) || !(v < static_cast<float>(nc))) return -1;  // also false for NaN
  const int c = static_cast<int>(v);
  return static_cast<float>(c) == v ? c : -1;
}

struct EndToEndSelection {
  int count;    // rows written to keep_out (<= max_det)
  int bad_row;  // first row above conf whose class is not a class id, or -1
};

// Scans the K rows of one image in order and writes the indices of the rows to keep (at most max_det)
// to keep_out. class_allowed is nc flags, or null for all classes. Stops at the first row above conf
// whose class column is not a class id in [0, nc): such output is not a detect model's and the caller
// reports it (bad_row) instead of naming a class that does not exist.
YOLO_HD EndToEndSelection end_to_end_select(const float* rows, int k, float conf, const uint8_t* class_allowed,
                                            int nc, int max_det, int32_t* keep_out) {
  EndToEndSelection s;
  s.count = 0;
  s.bad_row = -1;
  for (int r = 0; r < k && s.count < max_det; ++r) {
    const float* row = rows + static_cast<int64_t>(r) * kEndToEndRowLength;
    if (!passes_conf(row[4], conf)) continue;
    const int cls = end_to_end_class(row[5], nc);
    if (cls < 0) {
      s.bad_row = r;
      return s;
    }
    if (class_allowed != nullptr && !class_allowed[cls]) continue;
    keep_out[s.count++] = r;
  }
  return s;
}

// One kept row as a detection [x1, y1, x2, y2, score, cls] in original-image pixels, written to out[0..5].
YOLO_HD void end_to_end_detection(const float* row, const BoxScale& scale, float* out) {
  BoxXYXY b;
  b.x1 = row[0];
  b.y1 = row[1];
  b.x2 = row[2];
  b.y2 = row[3];
  const BoxXYXY o = scale_box(b, scale);
  out[0] = o.x1;
  out[1] = o.y1;
  out[2] = o.x2;
  out[3] = o.y2;
  out[4] = row[4];
  out[5] = row[5];
}

}  // namespace yolo
