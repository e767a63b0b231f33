// CPU preprocessing: letterbox a batch of 8-bit images of any sizes/formats into one NCHW tensor
// (planar RGB), OpenCV-exact (native/core/resize_linear.h), split over threads.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../core/image_stats.h"
#include "../core/letterbox.h"
#include "../core/pixel.h"

namespace yolo::cpu {

// A borrowed view of interleaved 8-bit pixels: row r starts at data + r * stride.
struct ImageView {
  const uint8_t* data = nullptr;
  size_t byte_length = 0;  // bytes readable from data (checked against the geometry)
  int width = 0;
  int height = 0;
  size_t stride = 0;  // bytes per row, >= width * pixel_channels(format)
  PixelFormat format = PixelFormat::kRGB;
};

enum class TensorDType : int { kFloat32 = 0, kFloat16 = 1, kUint8 = 2 };

size_t dtype_bytes(TensorDType dtype);

struct PreprocessOptions {
  int dst_w = 640;
  int dst_h = 640;
  TensorDType dtype = TensorDType::kFloat32;
  int threads = 1;  // >= 1
};

// Throws yolo::Error(ERR_BAD_IMAGE) when the view is unusable: non-positive size, stride below
// width * channels, or fewer than stride * (height - 1) + width * channels bytes. `index` names the image.
void validate_image(const ImageView& image, size_t index);

// Letterboxes images[0..n) into `out` ([n, 3, dst_h, dst_w] elements of options.dtype; float16 as uint16
// bits) and writes each image's geometry. Validates every image first (nothing is written on error).
// With `stats_out` (n * kImageStatsCount doubles) each image's content statistics (core/image_stats.h)
// are accumulated in the same pass and written there.
void preprocess_batch(const ImageView* images, size_t n, const PreprocessOptions& options, void* out,
                      LetterboxGeometry* geometry_out, double* stats_out = nullptr);

}  // namespace yolo::cpu
