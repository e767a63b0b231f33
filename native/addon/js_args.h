// Reading and checking JS arguments on the JS thread. TS validates first; these re-check cheaply so a
// direct caller of the addon gets a coded JS error (never a crash). Messages follow sharp's wording:
// "Expected <what> for <name> but received <value>".
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace yolo::addon {

// A JS Error with `code` set, thrown as a C++ exception (NAPI_CPP_EXCEPTIONS) into the JS caller.
[[noreturn]] void throw_coded(Napi::Env env, const char* code, const std::string& message);

// The same error as a value (for rejecting a promise).
Napi::Error coded_error(Napi::Env env, const char* code, const std::string& message);

// "-1 of type number", "'x' of type string", "a Float32Array of 12 bytes", "null", ...
std::string describe(const Napi::Value& value);

[[noreturn]] void throw_expected(Napi::Env env, const char* code, const std::string& expected,
                                 const std::string& name, const Napi::Value& received);

// Property `key` of `obj` as an integer in [min, max] (a JS number with no fraction).
int get_int(const Napi::Object& obj, const char* key, const std::string& name, int min, int max,
            const char* code);
// A finite JS number.
double get_number(const Napi::Object& obj, const char* key, const std::string& name);
bool get_bool(const Napi::Object& obj, const char* key, const std::string& name);
std::string get_string(const Napi::Object& obj, const char* key, const std::string& name);

// value as an integer in [min, max].
int to_int(Napi::Env env, const Napi::Value& value, const std::string& name, int min, int max, const char* code);

// Pointer to the first element of a typed array (works for SharedArrayBuffer-backed arrays too; null
// for an empty or detached one).
uint8_t* typed_array_data(Napi::Env env, const Napi::Value& typed_array);

// True for Uint8Array/Buffer (and Uint8ClampedArray).
bool is_byte_array(const Napi::Value& value);
bool is_typed_array_of(const Napi::Value& value, napi_typedarray_type type);

}  // namespace yolo::addon
