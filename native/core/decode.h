// Decoding one anchor of a YOLO detect output [batch, 4 + nc, anchors] (row-major, float32): the first
// four rows are cx, cy, w, h in network-input pixels, then nc already-sigmoided class scores.
// See ../shared/docs/ULTRALYTICS.md "Postprocessing" steps 1 and 2.
#pragma once

#include <stdint.h>

#include "hd.h"

namespace yolo {

struct BoxXYXY {
  float x1;
  float y1;
  float x2;
  float y2;
};

struct AnchorBest {
  float score;  // max over classes
  int cls;      // first class reaching it
};

// True when class score v replaces the best so far. Strict, so the FIRST argmax wins ties
// (torch.max(dim) returns the first index). A NaN score never wins.
YOLO_HD bool class_score_beats(float v, float best) { return v > best; }

// Max score and its first class for one anchor. `scores` points at class 0 of the anchor; class k is at
// scores[k * class_stride] (class_stride = anchors for the [4 + nc, anchors] layout). nc >= 1.
YOLO_HD AnchorBest anchor_best_class(const float* scores, int64_t class_stride, int nc) {
  AnchorBest b;
  b.score = scores[0];
  b.cls = 0;
  for (int k = 1; k < nc; ++k) {
    const float v = scores[static_cast<int64_t>(k) * class_stride];
    if (class_score_beats(v, b.score)) {
      b.score = v;
      b.cls = k;
    }
  }
  return b;
}

// Candidate test: score > conf, strict, in float32 (PyTorch compares a float32 tensor with the threshold
// converted to float32).
YOLO_HD bool passes_conf(float score, float conf) { return score > conf; }

// xywh (centre) -> xyxy in float32: x1 = cx - w / 2, x2 = cx + w / 2 (the halving is exact).
YOLO_HD BoxXYXY xywh_to_xyxy(float cx, float cy, float w, float h) {
  const float hw = w / 2.0f;
  const float hh = h / 2.0f;
  BoxXYXY b;
  b.x1 = cx - hw;
  b.y1 = cy - hh;
  b.x2 = cx + hw;
  b.y2 = cy + hh;
  return b;
}

// The deterministic candidate order: score descending, then anchor index ascending (PyTorch's own
// order of equal scores is unspecified; ours is the same on CPU and GPU).
YOLO_HD bool candidate_before(float score_a, int32_t anchor_a, float score_b, int32_t anchor_b) {
  return score_a > score_b || (score_a == score_b && anchor_a < anchor_b);
}

// Ultralytics' max_nms: at most this many candidates (the best ones) enter NMS.
constexpr int kMaxNmsCandidates = 30000;

}  // namespace yolo
