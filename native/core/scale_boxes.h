// Boxes from network-input pixels back to the original image, as Ultralytics' scale_boxes + clip_boxes.
// See ../shared/docs/ULTRALYTICS.md "Postprocessing" step 5. The padding here is recomputed from the
// UNROUNDED content size, so it can differ by one pixel from the letterbox's own left/top (1000x751 into
// 640x640: letterbox top 79, scale_boxes pad_y 80). That is what Ultralytics does; we copy it.
#pragma once

#include "decode.h"
#include "hd.h"
#include "round.h"

namespace yolo {

struct BoxScale {
  float pad_x;  // whole pixels, as float32 (torch subtracts a Python int from a float32 tensor)
  float pad_y;
  float gain;   // (float)min(H/h0, W/w0)
  float max_x;  // clip limits: original width and height
  float max_y;
};

YOLO_HD BoxScale box_scale_for(int input_w, int input_h, int orig_w, int orig_h) {
  const double g_h = static_cast<double>(input_h) / static_cast<double>(orig_h);
  const double g_w = static_cast<double>(input_w) / static_cast<double>(orig_w);
  const double gain = g_w < g_h ? g_w : g_h;  // Python min(g_h, g_w)
  BoxScale s;
  s.pad_x = static_cast<float>(
      round_half_even((static_cast<double>(input_w) - static_cast<double>(orig_w) * gain) / 2.0 - 0.1));
  s.pad_y = static_cast<float>(
      round_half_even((static_cast<double>(input_h) - static_cast<double>(orig_h) * gain) / 2.0 - 0.1));
  s.gain = static_cast<float>(gain);
  s.max_x = static_cast<float>(orig_w);
  s.max_y = static_cast<float>(orig_h);
  return s;
}

// One coordinate: (v - pad) / gain in float32, then clamp to [0, limit] (torch.clamp: max then min).
YOLO_HD float scale_coord(float v, float pad, float gain, float limit) {
  float r = (v - pad) / gain;
  r = r < 0.0f ? 0.0f : r;
  r = r > limit ? limit : r;
  return r;
}

YOLO_HD BoxXYXY scale_box(const BoxXYXY& b, const BoxScale& s) {
  BoxXYXY o;
  o.x1 = scale_coord(b.x1, s.pad_x, s.gain, s.max_x);
  o.y1 = scale_coord(b.y1, s.pad_y, s.gain, s.max_y);
  o.x2 = scale_coord(b.x2, s.pad_x, s.gain, s.max_x);
  o.y2 = scale_coord(b.y2, s.pad_y, s.gain, s.max_y);
  return o;
}

}  // namespace yolo
