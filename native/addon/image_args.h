// Reading one pixel image ({ data, width, height, stride?, format }) from JS, shared by the CPU
// preprocess and the GPU entry points so both refuse the same images with the same codes and messages.
#pragma once

#include <napi.h>

#include <cstdint>

#include "../cpu/preprocess.h"

namespace yolo::addon {

// Validates images[index] and returns a view of its pixels. The view borrows the caller's buffer: keep
// `*keep_alive` (set here) until the work that reads it has finished.
cpu::ImageView read_image_view(Napi::Env env, const Napi::Value& value, uint32_t index,
                               Napi::ObjectReference* keep_alive);

}  // namespace yolo::addon
