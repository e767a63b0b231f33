#include "gpu_args.h"

#include <cstring>
#include <string>
#include <utility>

#include "../core/decode.h"
#include "../core/error.h"
#include "../cpu/preprocess.h"
#include "image_args.h"
#include "js_args.h"
#include "nms_args.h"
#include "workers.h"

namespace yolo::addon {
void read_images(Napi::Env env, const Napi::Value& value, uint32_t max_count, BorrowedImages* out) {
  if (!value.IsArray()) throw_expected(env, code::kInvalidOption, "an array of images", "images", value);
  const Napi::Array images = value.As<Napi::Array>();
  const uint32_t n = images.Length();
  if (n == 0 || n > max_count) {
    throw_expected(env, code::kInvalidOption, "an array of 1 to " + std::to_string(max_count) + " images",
                   "images", value);
  }
  out->views.resize(n);
  out->keep_alive.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    // The CPU path's validation, so both backends refuse the same images with the same messages.
    out->keep_alive.emplace_back();
    const cpu::ImageView view = read_image_view(env, images.Get(i), i, &out->keep_alive.back());
    out->views[i] = cuda::HostImage{view.data, view.width, view.height, view.stride, view.format};
  }
}

cuda::PostParams read_post_params(Napi::Env env, const Napi::Value& value, int nc) {
  if (!value.IsObject()) throw_expected(env, code::kInvalidOption, "an object", "params", value);
  const Napi::Object o = value.As<Napi::Object>();
  NmsArgs nms = read_nms_args(env, o, "params", nc);
  cuda::PostParams p;
  p.conf = nms.conf;
  p.iou = nms.iou;
  p.max_det = nms.max_det;
  p.agnostic = nms.agnostic;
  p.class_allowed = std::move(nms.class_allowed);
  return p;
}

bool read_image_stats_flag(Napi::Env env, const Napi::Value& params) {
  if (!params.IsObject()) throw_expected(env, code::kInvalidOption, "an object", "params", params);
  const Napi::Object o = params.As<Napi::Object>();
  return !o.Get("imageStats").IsUndefined() && get_bool(o, "imageStats", "params.imageStats");
}

Napi::Float64Array stats_to_js(Napi::Env env, const std::vector<double>& stats) {
  Napi::Float64Array a = Napi::Float64Array::New(env, stats.size());
  if (!stats.empty()) std::memcpy(a.Data(), stats.data(), stats.size() * sizeof(double));
  return a;
}

std::vector<int32_t> read_sizes(Napi::Env env, const Napi::Value& value, int batch, const char* name) {
  const size_t expected = 2 * static_cast<size_t>(batch);
  if (!is_typed_array_of(value, napi_int32_array) ||
      value.As<Napi::Int32Array>().ElementLength() != expected) {
    throw_expected(env, code::kInvalidOption,
                   "an Int32Array of " + std::to_string(expected) + " sizes [w0, h0, ...]", name, value);
  }
  const Napi::Int32Array a = value.As<Napi::Int32Array>();
  std::vector<int32_t> sizes(expected);
  for (size_t i = 0; i < expected; ++i) {
    if (a[i] <= 0) {
      throw_coded(env, code::kInvalidOption,
                  std::string("Expected positive sizes for ") + name + " but received " +
                      std::to_string(a[i]) + " at index " + std::to_string(i));
    }
    sizes[i] = a[i];
  }
  return sizes;
}

Napi::Array rows_to_js(Napi::Env env, const std::vector<cuda::Rows>& rows) {
  Napi::Array out = Napi::Array::New(env, rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    Napi::Float32Array a = Napi::Float32Array::New(env, rows[i].size());
    if (!rows[i].empty()) std::memcpy(a.Data(), rows[i].data(), rows[i].size() * sizeof(float));
    out.Set(static_cast<uint32_t>(i), a);
  }
  return out;
}

}  // namespace yolo::addon
