// Letterbox geometry: where an image of w x h lands inside a network input of W x H, exactly as
// Ultralytics' LetterBox (auto=False, center=True, scaleup=True) computes it. See
// ../shared/docs/ULTRALYTICS.md "Preprocessing" steps 2 and 3.
#pragma once

#include "hd.h"
#include "round.h"

namespace yolo {

struct LetterboxGeometry {
  int new_w;     // resized content width
  int new_h;     // resized content height
  int left;      // padding columns on the left (the rest of the border goes right)
  int top;       // padding rows on the top (the rest goes to the bottom)
  double ratio;  // min(H/h, W/w)
};

// r = min(H/h, W/w) in double; new size = round_half_even(size * r); left/top = round_half_even(pad/2 -
// 0.1). A content size that would round to 0 (extreme aspect ratios, where OpenCV itself would throw)
// is kept at 1 pixel so the pipeline stays defined.
YOLO_HD LetterboxGeometry letterbox_geometry(int src_w, int src_h, int dst_w, int dst_h) {
  const double r_h = static_cast<double>(dst_h) / static_cast<double>(src_h);
  const double r_w = static_cast<double>(dst_w) / static_cast<double>(src_w);
  const double r = r_w < r_h ? r_w : r_h;  // Python min(r_h, r_w)
  LetterboxGeometry g;
  g.ratio = r;
  g.new_w = static_cast<int>(round_half_even(static_cast<double>(src_w) * r));
  g.new_h = static_cast<int>(round_half_even(static_cast<double>(src_h) * r));
  if (g.new_w < 1) g.new_w = 1;
  if (g.new_h < 1) g.new_h = 1;
  if (g.new_w > dst_w) g.new_w = dst_w;  // cannot happen with r = min(...), kept as a guard
  if (g.new_h > dst_h) g.new_h = dst_h;
  const double dw = static_cast<double>(dst_w - g.new_w) / 2.0;
  const double dh = static_cast<double>(dst_h - g.new_h) / 2.0;
  g.left = static_cast<int>(round_half_even(dw - 0.1));
  g.top = static_cast<int>(round_half_even(dh - 0.1));
  return g;
}

// Ultralytics resizes only when the size changes (`if shape[::-1] != new_unpad`).
YOLO_HD bool letterbox_needs_resize(int src_w, int src_h, const LetterboxGeometry& g) {
  return src_w != g.new_w || src_h != g.new_h;
}

}  // namespace yolo
