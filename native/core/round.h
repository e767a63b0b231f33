// Exact rounding helpers shared by host and device.
//
// Ultralytics rounds with Python's round() (half to even) and OpenCV converts float coefficients with
// saturate_cast<short> (lrint: half to even in the default rounding mode). std::nearbyint/rint would do
// the same but depend on the thread's rounding mode; these are written out so they cannot drift.
#pragma once

#include <math.h>

#include "hd.h"

namespace yolo {

// Python's round(x) for a double (ties go to the even neighbour). x - floor(x) is exact for every
// finite double, so the tie test is exact.
YOLO_HD double round_half_even(double x) {
  const double f = floor(x);
  const double diff = x - f;
  if (diff > 0.5) return f + 1.0;
  if (diff < 0.5) return f;
  return floor(f * 0.5) * 2.0 == f ? f : f + 1.0;
}

// lrintf(x) for a float in the default rounding mode (ties to even), as an int.
YOLO_HD int round_half_even_to_int(float x) {
  const float f = floorf(x);
  const float diff = x - f;
  int i = static_cast<int>(f);
  if (diff > 0.5f || (diff == 0.5f && (i & 1) != 0)) ++i;
  return i;
}

}  // namespace yolo
