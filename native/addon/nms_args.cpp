#include "nms_args.h"

#include "../core/decode.h"
#include "../core/error.h"
#include "js_args.h"
#include "workers.h"

namespace yolo::addon {

NmsArgs read_nms_args(Napi::Env env, const Napi::Object& o, const std::string& prefix, int nc) {
  NmsArgs a;
  const double conf = get_number(o, "conf", prefix + ".conf");
  if (conf < 0.0 || conf > 1.0) {
    throw_expected(env, code::kInvalidOption, "a number between 0 and 1", prefix + ".conf", o.Get("conf"));
  }
  a.conf = static_cast<float>(conf);
  a.iou = get_number(o, "iou", prefix + ".iou");
  if (a.iou < 0.0 || a.iou > 1.0) {
    throw_expected(env, code::kInvalidOption, "a number between 0 and 1", prefix + ".iou", o.Get("iou"));
  }
  a.max_det = get_int(o, "maxDet", prefix + ".maxDet", 0, kMaxNmsCandidates, code::kInvalidOption);
  a.agnostic = get_bool(o, "agnostic", prefix + ".agnostic");
  const Napi::Value classes = o.Get("classes");
  if (!classes.IsNull() && !classes.IsUndefined()) {
    if (!is_typed_array_of(classes, napi_int32_array)) {
      throw_expected(env, code::kInvalidOption, "an Int32Array or null", prefix + ".classes", classes);
    }
    const Napi::Int32Array ids = classes.As<Napi::Int32Array>();
    a.class_allowed.assign(static_cast<size_t>(nc), 0);
    for (size_t i = 0; i < ids.ElementLength(); ++i) {
      const int32_t id = ids[i];
      if (id < 0 || id >= nc) {
        throw_coded(env, code::kInvalidOption,
                    "Expected class ids between 0 and " + std::to_string(nc - 1) + " for " + prefix +
                        ".classes but received " + std::to_string(id) + " at index " + std::to_string(i));
      }
      a.class_allowed[static_cast<size_t>(id)] = 1;
    }
  }
  return a;
}

}  // namespace yolo::addon
