#include "image_args.h"

#include <string>

#include "../core/error.h"
#include "js_args.h"
#include "workers.h"

namespace yolo::addon {
namespace {

PixelFormat parse_format(const Napi::Object& image, const std::string& name) {
  const Napi::Value value = image.Get("format");
  if (value.IsString()) {
    const std::string f = value.As<Napi::String>().Utf8Value();
    if (f == "rgb") return PixelFormat::kRGB;
    if (f == "bgr") return PixelFormat::kBGR;
    if (f == "rgba") return PixelFormat::kRGBA;
    if (f == "bgra") return PixelFormat::kBGRA;
    if (f == "gray") return PixelFormat::kGray;
  }
  throw_expected(image.Env(), "ERR_UNSUPPORTED_FORMAT", "one of 'rgb', 'bgr', 'rgba', 'bgra', 'gray'",
                 name + ".format", value);
}

}  // namespace

cpu::ImageView read_image_view(Napi::Env env, const Napi::Value& value, uint32_t index,
                               Napi::ObjectReference* keep_alive) {
  const std::string name = "images[" + std::to_string(index) + "]";
  if (!value.IsObject()) throw_expected(env, code::kInvalidOption, "an image object", name, value);
  const Napi::Object image = value.As<Napi::Object>();
  const Napi::Value data = image.Get("data");
  if (!is_byte_array(data)) throw_expected(env, code::kBadImage, "a Uint8Array", name + ".data", data);

  cpu::ImageView view;
  view.format = parse_format(image, name);
  view.width = get_int(image, "width", name + ".width", 1, kMaxSide, code::kBadImage);
  view.height = get_int(image, "height", name + ".height", 1, kMaxSide, code::kBadImage);
  const Napi::Value stride = image.Get("stride");
  if (stride.IsUndefined()) {
    view.stride = static_cast<size_t>(view.width) * static_cast<size_t>(pixel_channels(view.format));
  } else {
    // stride <= 2^30 keeps stride * height far from overflow.
    view.stride = static_cast<size_t>(to_int(env, stride, name + ".stride", 1, 1 << 30, code::kBadImage));
  }
  view.data = typed_array_data(env, data);
  view.byte_length = data.As<Napi::TypedArray>().ByteLength();
  try {
    cpu::validate_image(view, index);
  } catch (const yolo::Error& e) {
    throw_coded(env, e.code(), e.what());
  }
  *keep_alive = Napi::Persistent(data.As<Napi::Object>());
  return view;
}

}  // namespace yolo::addon
