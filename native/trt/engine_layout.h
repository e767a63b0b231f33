// What an engine's tensor shapes mean to yolo-trt, decided without TensorRT (plain dims in, choices out),
// so the rules are unit-tested in CI (test/gpu cases "engine layout") though TensorRT is not there:
//
//  - input [batch, 3, H, W]: a fixed batch runs its full batch; a dynamic batch runs 1..profile max.
//    Fixed H/W runs at that size (another requested imgsz is refused). Dynamic H/W (Ultralytics
//    dynamic=True builds a profile from 32x32 up to 2x imgsz) runs at the requested imgsz, else at the
//    profile's opt size (Ultralytics puts imgsz there); the size must lie inside the profile.
//  - output at that input: classic [batch, 4 + nc, anchors], or end-to-end [batch, K, 6] (the caller's
//    metadata says so, or the shape: last dimension 6 and a middle one that is not the anchor count).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/end_to_end.h"
#include "core/error.h"

namespace yolo::trt {

struct ProfileDims {
  std::vector<int64_t> min;  // each [batch, 3, H, W]
  std::vector<int64_t> opt;
  std::vector<int64_t> max;
};

struct InputChoice {
  bool dynamic_batch = false;
  int min_batch = 1;
  int max_batch = 1;
  int input_h = 0;
  int input_w = 0;
};

struct OutputLayout {
  bool end_to_end = false;
  int channels = 0;  // classic: 4 + nc; end-to-end: K rows
  int anchors = 0;   // classic: anchors; end-to-end: 6
};

inline std::string dims_string(const std::vector<int64_t>& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + "]";
}

// Anchors of a detect head at strides 8/16/32 (ceil per level, as the convolutions give).
inline int64_t anchor_count(int64_t h, int64_t w) {
  int64_t n = 0;
  for (int64_t s = 8; s <= 32; s *= 2) n += ((h + s - 1) / s) * ((w + s - 1) / s);
  return n;
}

// `declared` is the engine's input shape (-1 = dynamic); `profile` is optimization profile 0 (needed when
// any dimension is dynamic); want_h/want_w = 0 means "no imgsz requested".
inline InputChoice choose_input(const std::vector<int64_t>& declared, const ProfileDims* profile, int want_h,
                                int want_w) {
  if (declared.size() != 4 || (declared[1] != 3 && declared[1] != -1)) {
    throw Error(code::kModelUnsupported,
                "Expected engine input [batch, 3, height, width] but received " + dims_string(declared));
  }
  bool dynamic = false;
  for (int64_t d : declared) dynamic = dynamic || d < 0;
  InputChoice c;
  if (dynamic && (profile == nullptr || profile->min.size() != 4 || profile->opt.size() != 4 ||
                  profile->max.size() != 4)) {
    throw Error(code::kModelUnsupported, "The engine has dynamic input dimensions but no optimization profile");
  }
  c.dynamic_batch = declared[0] < 0;
  c.min_batch = static_cast<int>(c.dynamic_batch ? profile->min[0] : declared[0]);
  c.max_batch = static_cast<int>(c.dynamic_batch ? profile->max[0] : declared[0]);
  const bool dynamic_hw = declared[2] < 0 || declared[3] < 0;
  if (!dynamic_hw) {
    c.input_h = static_cast<int>(declared[2]);
    c.input_w = static_cast<int>(declared[3]);
    if ((want_h > 0 && want_h != c.input_h) || (want_w > 0 && want_w != c.input_w)) {
      throw Error(code::kInvalidOption, "The engine's input size is fixed at " + std::to_string(c.input_h) + "x" +
                                            std::to_string(c.input_w) + " (height x width); imgsz " +
                                            std::to_string(want_h) + "x" + std::to_string(want_w) +
                                            " needs an engine built for it (or with dynamic=True)");
    }
  } else {
    c.input_h = want_h > 0 ? want_h : static_cast<int>(profile->opt[2]);
    c.input_w = want_w > 0 ? want_w : static_cast<int>(profile->opt[3]);
    if (c.input_h < profile->min[2] || c.input_h > profile->max[2] || c.input_w < profile->min[3] ||
        c.input_w > profile->max[3]) {
      throw Error(code::kInvalidOption,
                  "Expected imgsz within the engine's profile " + std::to_string(profile->min[2]) + "x" +
                      std::to_string(profile->min[3]) + " to " + std::to_string(profile->max[2]) + "x" +
                      std::to_string(profile->max[3]) + " (height x width) but received " +
                      std::to_string(c.input_h) + "x" + std::to_string(c.input_w));
    }
  }
  if (c.input_h < 1 || c.input_w < 1 || c.max_batch < 1 || c.min_batch < 1 || c.min_batch > c.max_batch) {
    throw Error(code::kModelUnsupported, "Expected a usable engine input but received " + dims_string(declared));
  }
  return c;
}

// `resolved` is the output shape with the chosen input shape set; `end_to_end_hint` is the caller's
// metadata (end2end / args nms): 1 yes, 0 no, -1 unknown (the shape decides).
inline OutputLayout output_layout(const std::vector<int64_t>& resolved, const InputChoice& in, int end_to_end_hint) {
  if (resolved.size() != 3 || resolved[1] < 1 || resolved[2] < 1) {
    throw Error(code::kModelUnsupported,
                "Expected engine output [batch, 4 + classes, anchors] or [batch, K, 6] but received " +
                    dims_string(resolved));
  }
  const int64_t anchors = anchor_count(in.input_h, in.input_w);
  const bool shape_says_e2e = resolved[2] == kEndToEndRowLength && resolved[1] != anchors;
  OutputLayout o;
  o.end_to_end = end_to_end_hint == 1 || (end_to_end_hint == -1 && shape_says_e2e);
  if (o.end_to_end && resolved[2] != kEndToEndRowLength) {
    throw Error(code::kModelUnsupported,
                "The engine's metadata says end-to-end, so its output should be [batch, K, 6] rows but it is " +
                    dims_string(resolved));
  }
  if (!o.end_to_end && resolved[1] < 5) {
    throw Error(code::kModelUnsupported,
                "Expected engine output [batch, 4 + classes, anchors] but received " + dims_string(resolved));
  }
  o.channels = static_cast<int>(resolved[1]);
  o.anchors = static_cast<int>(resolved[2]);
  return o;
}

}  // namespace yolo::trt
