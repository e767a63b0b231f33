// The addon's exported functions (one file each). See src/native/binding.ts for the JS contract.
#pragma once

#include <napi.h>

namespace yolo::addon {

Napi::Value Capabilities(const Napi::CallbackInfo& info);
Napi::Value LetterboxGeometry(const Napi::CallbackInfo& info);
Napi::Value Preprocess(const Napi::CallbackInfo& info);
Napi::Value Postprocess(const Napi::CallbackInfo& info);
Napi::Value PostprocessEndToEnd(const Napi::CallbackInfo& info);

// exports.trimNativeHeap (memory.cpp).
void register_memory(Napi::Env env, Napi::Object exports);

// {newWidth, newHeight, left, top, ratio} for a core geometry.
Napi::Object geometry_to_js(Napi::Env env, int new_w, int new_h, int left, int top, double ratio);

// Fills the module exports (module.cpp).
Napi::Object Init(Napi::Env env, Napi::Object exports);

// Largest accepted image or network input side; keeps every size product far from overflow.
constexpr int kMaxSide = 1 << 16;

}  // namespace yolo::addon
