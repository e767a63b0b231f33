// The TensorRT shape rules (native/trt/engine_layout.h), which need no TensorRT: which input size and
// batch range an engine runs at (fixed batch, dynamic batch, Ultralytics dynamic=True profiles from 32x32
// to 2x imgsz), and whether its output is classic or end-to-end. Plain dims in, choices or coded errors out.
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "support.h"
#include "trt/engine_layout.h"

namespace yolo::gpu_cases {
namespace {

using trt::InputChoice;
using trt::OutputLayout;
using trt::ProfileDims;

std::string expect_eq(const char* what, int64_t got, int64_t want) {
  return got == want ? "" : std::string(what) + ": " + std::to_string(got) + " != " + std::to_string(want);
}

std::string first(std::initializer_list<std::string> results) {
  for (const std::string& r : results) {
    if (!r.empty()) return r;
  }
  return "";
}

template <class Fn>
std::string expect_code(const char* want, Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return std::string(e.code()) == want ? "" : std::string("threw ") + e.code() + " (" + e.what() + "), not " + want;
  }
  return std::string("no error, expected ") + want;
}

// Ultralytics' dynamic=True profile for imgsz 640 and batch 8: min 1x3x32x32, opt 4x3x640x640, max 8x3x1280x1280.
const ProfileDims kDynamic{{1, 3, 32, 32}, {4, 3, 640, 640}, {8, 3, 1280, 1280}};

}  // namespace

void register_engine_layout_cases(const Paths&) {
  add_case("engine layout: input", "fixed batch 1, 640x640", []() {
    const InputChoice c = trt::choose_input({1, 3, 640, 640}, nullptr, 0, 0);
    return first({expect_eq("dynamic_batch", c.dynamic_batch, 0), expect_eq("max_batch", c.max_batch, 1),
                  expect_eq("h", c.input_h, 640), expect_eq("w", c.input_w, 640)});
  });
  add_case("engine layout: input", "fixed batch 4 runs its full batch", []() {
    const InputChoice c = trt::choose_input({4, 3, 480, 640}, nullptr, 480, 640);
    return first({expect_eq("min_batch", c.min_batch, 4), expect_eq("max_batch", c.max_batch, 4),
                  expect_eq("h", c.input_h, 480), expect_eq("w", c.input_w, 640)});
  });
  add_case("engine layout: input", "dynamic batch, fixed 640x640: batch range from the profile", []() {
    const ProfileDims p{{1, 3, 640, 640}, {8, 3, 640, 640}, {16, 3, 640, 640}};
    const InputChoice c = trt::choose_input({-1, 3, 640, 640}, &p, 0, 0);
    return first({expect_eq("dynamic_batch", c.dynamic_batch, 1), expect_eq("min_batch", c.min_batch, 1),
                  expect_eq("max_batch", c.max_batch, 16), expect_eq("h", c.input_h, 640)});
  });
  add_case("engine layout: input", "dynamic=True: runs at the profile's opt size (imgsz) by default", []() {
    const InputChoice c = trt::choose_input({-1, 3, -1, -1}, &kDynamic, 0, 0);
    return first({expect_eq("max_batch", c.max_batch, 8), expect_eq("h", c.input_h, 640),
                  expect_eq("w", c.input_w, 640)});
  });
  add_case("engine layout: input", "dynamic=True: runs at a requested imgsz inside the profile", []() {
    const InputChoice c = trt::choose_input({-1, 3, -1, -1}, &kDynamic, 480, 1280);
    return first({expect_eq("h", c.input_h, 480), expect_eq("w", c.input_w, 1280)});
  });
  add_case("engine layout: input", "dynamic=True: an imgsz outside the profile is ERR_INVALID_OPTION", []() {
    return first({expect_code(code::kInvalidOption, [] { trt::choose_input({-1, 3, -1, -1}, &kDynamic, 1312, 640); }),
                  expect_code(code::kInvalidOption, [] { trt::choose_input({-1, 3, -1, -1}, &kDynamic, 640, 16); })});
  });
  add_case("engine layout: input", "fixed H/W refuses another imgsz; dynamic without a profile is refused", []() {
    return first({expect_code(code::kInvalidOption, [] { trt::choose_input({1, 3, 640, 640}, nullptr, 320, 320); }),
                  expect_code(code::kModelUnsupported, [] { trt::choose_input({-1, 3, 640, 640}, nullptr, 0, 0); }),
                  expect_code(code::kModelUnsupported, [] { trt::choose_input({1, 640, 640, 3}, nullptr, 0, 0); })});
  });

  InputChoice at640;
  at640.input_h = at640.input_w = 640;
  InputChoice at320;
  at320.input_h = at320.input_w = 320;
  add_case("engine layout: output", "classic [1, 84, 8400]", [at640]() {
    const OutputLayout o = trt::output_layout({1, 84, 8400}, at640, -1);
    return first({expect_eq("end_to_end", o.end_to_end, 0), expect_eq("channels", o.channels, 84),
                  expect_eq("anchors", o.anchors, 8400)});
  });
  add_case("engine layout: output", "end-to-end by shape [1, 300, 6] and by metadata", [at640]() {
    const OutputLayout a = trt::output_layout({1, 300, 6}, at640, -1);
    const OutputLayout b = trt::output_layout({8, 100, 6}, at640, 1);
    return first({expect_eq("shape end_to_end", a.end_to_end, 1), expect_eq("rows", a.channels, 300),
                  expect_eq("row length", a.anchors, 6), expect_eq("metadata end_to_end", b.end_to_end, 1),
                  expect_eq("rows", b.channels, 100)});
  });
  add_case("engine layout: output", "metadata 'not end-to-end' keeps a 2-class classic output classic", [at320]() {
    const OutputLayout o = trt::output_layout({1, 6, 2100}, at320, 0);
    return first({expect_eq("end_to_end", o.end_to_end, 0), expect_eq("channels", o.channels, 6)});
  });
  add_case("engine layout: output", "end-to-end metadata on a [1, 84, 8400] output is refused", [at640]() {
    return first({expect_code(code::kModelUnsupported, [&] { trt::output_layout({1, 84, 8400}, at640, 1); }),
                  expect_code(code::kModelUnsupported, [&] { trt::output_layout({1, 84}, at640, -1); }),
                  expect_code(code::kModelUnsupported, [&] { trt::output_layout({1, 3, 8400}, at640, 0); })});
  });
  add_case("engine layout: output", "anchor counts at other sizes (320: 2100, 480x640: 6300)", []() {
    return first({expect_eq("320", trt::anchor_count(320, 320), 2100), expect_eq("480x640", trt::anchor_count(480, 640), 6300)});
  });
}

}  // namespace yolo::gpu_cases
