#include "js_args.h"

#include <cmath>
#include <sstream>

#include "../core/error.h"

namespace yolo::addon {

Napi::Error coded_error(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

void throw_coded(Napi::Env env, const char* code, const std::string& message) {
  throw coded_error(env, code, message);
}

namespace {

std::string number_text(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  std::ostringstream out;
  out.precision(17);
  out << v;
  return out.str();
}

const char* typed_array_name(napi_typedarray_type type) {
  switch (type) {
    case napi_int8_array:
      return "Int8Array";
    case napi_uint8_array:
      return "Uint8Array";
    case napi_uint8_clamped_array:
      return "Uint8ClampedArray";
    case napi_int16_array:
      return "Int16Array";
    case napi_uint16_array:
      return "Uint16Array";
    case napi_int32_array:
      return "Int32Array";
    case napi_uint32_array:
      return "Uint32Array";
    case napi_float32_array:
      return "Float32Array";
    case napi_float64_array:
      return "Float64Array";
    default:
      return "TypedArray";
  }
}

}  // namespace

std::string describe(const Napi::Value& value) {
  if (value.IsUndefined()) return "undefined";
  if (value.IsNull()) return "null";
  if (value.IsNumber()) return number_text(value.As<Napi::Number>().DoubleValue()) + " of type number";
  if (value.IsBoolean()) return std::string(value.As<Napi::Boolean>().Value() ? "true" : "false") + " of type boolean";
  if (value.IsString()) {
    std::string s = value.As<Napi::String>().Utf8Value();
    if (s.size() > 60) s = s.substr(0, 57) + "...";
    return "'" + s + "' of type string";
  }
  if (value.IsTypedArray()) {
    const Napi::TypedArray ta = value.As<Napi::TypedArray>();
    return std::string("a ") + typed_array_name(ta.TypedArrayType()) + " of " + std::to_string(ta.ByteLength()) +
           " bytes";
  }
  if (value.IsArray()) return "an array of length " + std::to_string(value.As<Napi::Array>().Length());
  if (value.IsFunction()) return "a value of type function";
  return "a value of type object";
}

void throw_expected(Napi::Env env, const char* code, const std::string& expected, const std::string& name,
                    const Napi::Value& received) {
  throw_coded(env, code, "Expected " + expected + " for " + name + " but received " + describe(received));
}

int to_int(Napi::Env env, const Napi::Value& value, const std::string& name, int min, int max, const char* code) {
  const std::string expected = "an integer between " + std::to_string(min) + " and " + std::to_string(max);
  if (!value.IsNumber()) throw_expected(env, code, expected, name, value);
  const double v = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(v) || std::floor(v) != v || v < static_cast<double>(min) || v > static_cast<double>(max)) {
    throw_expected(env, code, expected, name, value);
  }
  return static_cast<int>(v);
}

int get_int(const Napi::Object& obj, const char* key, const std::string& name, int min, int max,
            const char* code) {
  return to_int(obj.Env(), obj.Get(key), name, min, max, code);
}

double get_number(const Napi::Object& obj, const char* key, const std::string& name) {
  const Napi::Value value = obj.Get(key);
  if (!value.IsNumber() || !std::isfinite(value.As<Napi::Number>().DoubleValue())) {
    throw_expected(obj.Env(), code::kInvalidOption, "a finite number", name, value);
  }
  return value.As<Napi::Number>().DoubleValue();
}

bool get_bool(const Napi::Object& obj, const char* key, const std::string& name) {
  const Napi::Value value = obj.Get(key);
  if (!value.IsBoolean()) throw_expected(obj.Env(), code::kInvalidOption, "a boolean", name, value);
  return value.As<Napi::Boolean>().Value();
}

std::string get_string(const Napi::Object& obj, const char* key, const std::string& name) {
  const Napi::Value value = obj.Get(key);
  if (!value.IsString()) throw_expected(obj.Env(), code::kInvalidOption, "a string", name, value);
  return value.As<Napi::String>().Utf8Value();
}

uint8_t* typed_array_data(Napi::Env env, const Napi::Value& typed_array) {
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value buffer;
  size_t offset = 0;
  // `data` already points at the first element (byte_offset applied).
  const napi_status status = napi_get_typedarray_info(env, typed_array, &type, &length, &data, &buffer, &offset);
  if (status != napi_ok) throw_coded(env, code::kInternal, "napi_get_typedarray_info failed");
  return static_cast<uint8_t*>(data);
}

bool is_typed_array_of(const Napi::Value& value, napi_typedarray_type type) {
  return value.IsTypedArray() && value.As<Napi::TypedArray>().TypedArrayType() == type;
}

bool is_byte_array(const Napi::Value& value) {
  return is_typed_array_of(value, napi_uint8_array) || is_typed_array_of(value, napi_uint8_clamped_array);
}

}  // namespace yolo::addon
