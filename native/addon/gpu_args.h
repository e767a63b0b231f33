// Reading JS arguments for the GPU entry points (CUDA builds only): image arrays into cuda::HostImage
// views (validated like the CPU path, kept alive by references) and detection parameters.
#pragma once

#include <napi.h>

#include <cstdint>
#include <vector>

#include "../cuda/gpu_pipeline.h"

namespace yolo::addon {

// Pixels borrowed from JS for the duration of one native job.
struct BorrowedImages {
  std::vector<cuda::HostImage> views;
  std::vector<Napi::ObjectReference> keep_alive;
};

// `images` must be an array of 1..max_count NativeImage objects ({ data, width, height, stride?, format }).
void read_images(Napi::Env env, const Napi::Value& images, uint32_t max_count, BorrowedImages* out);

// { conf, iou, maxDet, agnostic, classes: Int32Array | null } for a model with nc classes.
cuda::PostParams read_post_params(Napi::Env env, const Napi::Value& params, int nc);

// params.imageStats: a boolean or undefined (false).
bool read_image_stats_flag(Napi::Env env, const Napi::Value& params);

// Per-image content statistics (kImageStatsCount doubles per image) -> Float64Array.
Napi::Float64Array stats_to_js(Napi::Env env, const std::vector<double>& stats);

// [w0, h0, ...] of `batch` images.
std::vector<int32_t> read_sizes(Napi::Env env, const Napi::Value& sizes, int batch, const char* name);

// Detection rows -> Float32Array per image.
Napi::Array rows_to_js(Napi::Env env, const std::vector<cuda::Rows>& rows);

}  // namespace yolo::addon
