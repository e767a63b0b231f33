// Reading the NMS thresholds ({ conf, iou, maxDet, agnostic, classes }) from JS, shared by the CPU
// postprocess and the GPU entry points so both accept and refuse exactly the same values.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace yolo::addon {

struct NmsArgs {
  float conf = 0.25f;
  double iou = 0.7;
  int max_det = 300;
  bool agnostic = false;
  std::vector<uint8_t> class_allowed;  // nc flags, or empty for all classes
};

// `prefix` names the object in messages ("options", "params"); nc = number of classes of the model.
NmsArgs read_nms_args(Napi::Env env, const Napi::Object& o, const std::string& prefix, int nc);

}  // namespace yolo::addon
