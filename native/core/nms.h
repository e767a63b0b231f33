// Class-aware greedy NMS by coordinate offsets, as Ultralytics' non_max_suppression does it with
// torchvision.ops.nms. See ../shared/docs/ULTRALYTICS.md "Postprocessing" step 4.
//
// The per-pair formulas are YOLO_HD; the greedy loop (inherently sequential) is plain C++ over arrays
// and is used by the CPU pipeline (a GPU pipeline may run it on the host after copying candidates back).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "hd.h"

namespace yolo {

// Ultralytics' max_wh: boxes of class c are shifted by c * 7680 on both axes so that boxes of different
// classes never overlap. The offset changes IoU rounding (float32), so it is applied, not emulated.
constexpr float kClassOffset = 7680.0f;

YOLO_HD float class_offset(int cls, bool agnostic) {
  return agnostic ? 0.0f : static_cast<float>(cls) * kClassOffset;
}

YOLO_HD BoxXYXY offset_box(const BoxXYXY& b, float offset) {
  BoxXYXY o;
  o.x1 = b.x1 + offset;
  o.y1 = b.y1 + offset;
  o.x2 = b.x2 + offset;
  o.y2 = b.y2 + offset;
  return o;
}

// (x2 - x1) * (y2 - y1) in float32, on the offset box.
YOLO_HD float box_area(const BoxXYXY& b) { return (b.x2 - b.x1) * (b.y2 - b.y1); }

// torchvision's CPU nms_kernel arithmetic: inter = max(0, xx2 - xx1) * max(0, yy2 - yy1);
// iou = inter / (area_a + area_b - inter), all float32, evaluated left to right.
YOLO_HD float box_iou(const BoxXYXY& a, float area_a, const BoxXYXY& b, float area_b) {
  const float xx1 = a.x1 < b.x1 ? b.x1 : a.x1;  // std::max(a, b)
  const float yy1 = a.y1 < b.y1 ? b.y1 : a.y1;
  const float xx2 = b.x2 < a.x2 ? b.x2 : a.x2;  // std::min(a, b)
  const float yy2 = b.y2 < a.y2 ? b.y2 : a.y2;
  const float dw = xx2 - xx1;
  const float dh = yy2 - yy1;
  const float w = 0.0f < dw ? dw : 0.0f;
  const float h = 0.0f < dh ? dh : 0.0f;
  const float inter = w * h;
  const float uni = area_a + area_b - inter;
  return inter / uni;
}

// Suppression test: torchvision compares the float IoU with the double threshold (promoted to double).
YOLO_HD bool iou_suppresses(float iou, double iou_threshold) { return static_cast<double>(iou) > iou_threshold; }

// Greedy NMS over n boxes already in candidate order (best first), offset per class.
// Writes the kept indices (into the given arrays) to keep_out in order and returns how many, stopping
// after max_keep (the later keeps could not change the earlier ones). `suppressed` is n bytes of scratch.
inline size_t greedy_nms(const BoxXYXY* boxes, const float* areas, size_t n, double iou_threshold,
                         size_t max_keep, uint32_t* keep_out, uint8_t* suppressed) {
  for (size_t i = 0; i < n; ++i) suppressed[i] = 0;
  size_t kept = 0;
  for (size_t i = 0; i < n && kept < max_keep; ++i) {
    if (suppressed[i]) continue;
    keep_out[kept++] = static_cast<uint32_t>(i);
    const BoxXYXY bi = boxes[i];
    const float ai = areas[i];
    for (size_t j = i + 1; j < n; ++j) {
      if (suppressed[j]) continue;
      if (iou_suppresses(box_iou(bi, ai, boxes[j], areas[j]), iou_threshold)) suppressed[j] = 1;
    }
  }
  return kept;
}

}  // namespace yolo
