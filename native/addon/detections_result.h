#pragma once
// The JS value of a postprocess job: { detections: Float32Array[] (rows x1,y1,x2,y2,score,cls per image),
// msPerImage }. Shared by the classic (NMS) and end-to-end postprocess entry points.
#include <napi.h>

#include <cstring>
#include <vector>

#include "../cpu/postprocess.h"

namespace yolo::addon {

inline Napi::Object detections_result(Napi::Env env, const std::vector<std::vector<cpu::Detection>>& images,
                                      double ms_per_image) {
  static_assert(sizeof(cpu::Detection) == 6 * sizeof(float), "Detection must be 6 packed floats");
  Napi::Array detections = Napi::Array::New(env, images.size());
  for (size_t i = 0; i < images.size(); ++i) {
    const std::vector<cpu::Detection>& rows = images[i];
    Napi::Float32Array array = Napi::Float32Array::New(env, rows.size() * 6);
    if (!rows.empty()) std::memcpy(array.Data(), rows.data(), rows.size() * sizeof(cpu::Detection));
    detections.Set(static_cast<uint32_t>(i), array);
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("detections", detections);
  result.Set("msPerImage", Napi::Number::New(env, ms_per_image));
  return result;
}

}  // namespace yolo::addon
