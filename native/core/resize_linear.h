// OpenCV-exact cv::resize(INTER_LINEAR) for 8-bit images, as per-element formulas.
//
// OpenCV's uint8 INTER_LINEAR is fixed point: a horizontal pass turns each source row into 32-bit
// intermediates D = S[x0]*w0 + S[x1]*w1 (weights scaled by 2048), a vertical pass blends two such rows.
// Written from ../shared/docs/ULTRALYTICS.md and checked against Debian's OpenCV 4.6 with
// scripts/make-resize-fixtures.py (test/fixtures/resize, test/native/letterbox.test.ts).
//
// Finding about the vertical pass (OpenCV 4.6.0, Debian build, SSE2 baseline): EVERY output element,
// including the elements past the last full 16-lane (uint8) and 8-lane (int16) SIMD vector of a row, is
//     out = (((b0 * (D0 >> 4)) >> 16) + ((b1 * (D1 >> 4)) >> 16) + 2) >> 2
// i.e. the row tail is NOT computed with FixedPtCast ((b0*D0 + b1*D1 + (1 << 21)) >> 22): OpenCV 4.x
// specialises VResizeLinear<uchar, int, short, ...> so that its scalar tail repeats the SIMD arithmetic.
// Verified on rows of 9, 33, 37, 111, 427 and 1278 elements: the FixedPtCast tail model mismatches cv2 on
// 1..583 tail pixels per image, the single formula mismatches none. So the blend needs no element index.
//
// Exact 2x downscale on both axes: OpenCV switches INTER_LINEAR to the INTER_AREA fast path, where each
// output is (a + b + c + d + 2) >> 2 of its 2x2 block (see resize_uses_area2x).
#pragma once

#include <math.h>
#include <stdint.h>

#include "hd.h"
#include "round.h"

namespace yolo {

// INTER_RESIZE_COEF_BITS = 11: weights are scaled by 2048.
constexpr int kResizeCoefScale = 2048;

// One output coordinate's two source indices and fixed-point weights.
struct ResizeTap {
  int i0;  // first source index (column or row), already clamped into [0, src_size)
  int i1;  // second source index, clamped into [0, src_size)
  int w0;  // weight of i0, in [0, 2048]
  int w1;  // weight of i1, in [0, 2048]
};

// OpenCV's per-axis scale: 1 / (dst / src), in double (inv_scale first, then its inverse).
YOLO_HD double resize_axis_scale(int src_size, int dst_size) {
  return 1.0 / (static_cast<double>(dst_size) / static_cast<double>(src_size));
}

// Source position of output index d: fx = (float)((d + 0.5) * scale - 0.5); s = floor(fx); fx -= s.
YOLO_HD void resize_source_position(int d, double scale, int* s, float* frac) {
  float f = static_cast<float>((static_cast<double>(d) + 0.5) * scale - 0.5);
  const int si = static_cast<int>(floorf(f));
  f -= static_cast<float>(si);
  *s = si;
  *frac = f;
}

// Horizontal tap of output column dx (OpenCV's xofs/ialpha tables).
// - sx < 0: fx = 0, sx = 0.
// - sx + 1 >= src_w (then also for every column to its right): OpenCV uses the single pixel
//   S[src_w - 1] * 2048. Expressed here as w0 = 2048, w1 = 0 on the same pixel, which is the same integer.
// - otherwise w0 = lrint((1 - fx) * 2048), w1 = lrint(fx * 2048) (they need not sum to 2048).
YOLO_HD ResizeTap resize_column_tap(int dx, int src_w, double scale) {
  int sx;
  float fx;
  resize_source_position(dx, scale, &sx, &fx);
  if (sx < 0) {
    sx = 0;
    fx = 0.0f;
  }
  ResizeTap t;
  if (sx + 1 >= src_w) {
    t.i0 = src_w - 1;
    t.i1 = src_w - 1;
    t.w0 = kResizeCoefScale;
    t.w1 = 0;
    return t;
  }
  t.i0 = sx;
  t.i1 = sx + 1;
  t.w0 = round_half_even_to_int((1.0f - fx) * static_cast<float>(kResizeCoefScale));
  t.w1 = round_half_even_to_int(fx * static_cast<float>(kResizeCoefScale));
  return t;
}

// Vertical tap of output row dy. Unlike columns, fy is never clamped: only the two row indices are
// clamped into [0, src_h - 1] (so the first/last rows of an upscale blend a row with itself using the
// unclamped weights, which is not the same integer as a single-row copy).
YOLO_HD ResizeTap resize_row_tap(int dy, int src_h, double scale) {
  int sy;
  float fy;
  resize_source_position(dy, scale, &sy, &fy);
  const int last = src_h - 1;
  ResizeTap t;
  t.i0 = sy < 0 ? 0 : (sy > last ? last : sy);
  t.i1 = sy + 1 < 0 ? 0 : (sy + 1 > last ? last : sy + 1);
  t.w0 = round_half_even_to_int((1.0f - fy) * static_cast<float>(kResizeCoefScale));
  t.w1 = round_half_even_to_int(fy * static_cast<float>(kResizeCoefScale));
  return t;
}

// Horizontal pass for one channel value: D = S[i0] * w0 + S[i1] * w1 (at most 255 * 2049, fits int32).
YOLO_HD int resize_horizontal(int s0, int s1, int w0, int w1) { return s0 * w0 + s1 * w1; }

// The vertical pass only ever reads D >> 4 (<= 32655, an int16), so pipelines may store that instead.
YOLO_HD int16_t resize_horizontal_shifted(int s0, int s1, int w0, int w1) {
  return static_cast<int16_t>(resize_horizontal(s0, s1, w0, w1) >> 4);
}

// Vertical pass on D >> 4 values: OpenCV's VResizeLinearVec_32s8u arithmetic, a v_mul_hi of int16 lanes
// ((b * h) >> 16) per row, then a rounding shift by 2 with unsigned saturation.
YOLO_HD uint8_t resize_vertical_shifted(int h0, int h1, int b0, int b1) {
  const int v = (((b0 * h0) >> 16) + ((b1 * h1) >> 16) + 2) >> 2;
  return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

// Vertical pass on full horizontal values D0 (row i0) and D1 (row i1).
YOLO_HD uint8_t resize_vertical(int d0, int d1, int b0, int b1) {
  return resize_vertical_shifted(d0 >> 4, d1 >> 4, b0, b1);
}

// OpenCV's choice of the INTER_AREA fast path for an INTER_LINEAR resize: both per-axis scales are
// integers (within DBL_EPSILON) and both equal 2.
YOLO_HD bool resize_uses_area2x(int src_w, int src_h, int dst_w, int dst_h) {
  const double kDblEpsilon = 2.220446049250313080847e-16;
  const double sx = resize_axis_scale(src_w, dst_w);
  const double sy = resize_axis_scale(src_h, dst_h);
  const int ix = static_cast<int>(round_half_even(sx));
  const int iy = static_cast<int>(round_half_even(sy));
  const bool is_area_fast =
      fabs(sx - static_cast<double>(ix)) < kDblEpsilon && fabs(sy - static_cast<double>(iy)) < kDblEpsilon;
  return is_area_fast && ix == 2 && iy == 2;
}

// INTER_AREA 2x: the rounded average of a 2x2 block (a, b: top row; c, d: bottom row).
YOLO_HD uint8_t area2x_average(int a, int b, int c, int d) {
  return static_cast<uint8_t>((a + b + c + d + 2) >> 2);
}

}  // namespace yolo
