// Shared pieces of the GPU cases: fixture sources, recorded raw outputs, the CPU reference path, the
// fake inference step, and bit-exact comparisons that say where two results first differ.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cases.h"
#include "cuda/gpu_pipeline.h"

namespace yolo::gpu_cases {

std::string read_file(const std::string& path);

// A packed 8-bit image (RGB or gray) plus a view of it in any layout (format, padded stride).
struct OwnedImage {
  std::vector<uint8_t> bytes;
  cuda::HostImage view;
};

// Source of a resize fixture (test/fixtures/resize/cases.json): kind pattern, hash, gray or file.
OwnedImage fixture_source(const Paths& paths, const std::string& kind, int width, int height, int channels,
                          const std::string& file);
// A generated image of `format` with `pad` extra bytes per row (filled with garbage).
OwnedImage make_image(int width, int height, PixelFormat format, int pad, uint32_t seed);

// The matrix the pipeline and image-statistics cases sweep: every pixel format, and four source sizes
// (each with its own row padding) chosen to hit each resize mode into 640 x 640: linear down, area 2x,
// copy, linear up.
struct NamedFormat {
  PixelFormat format;
  const char* name;
};
inline constexpr NamedFormat kAllFormats[] = {{PixelFormat::kRGB, "rgb"},
                                              {PixelFormat::kBGR, "bgr"},
                                              {PixelFormat::kRGBA, "rgba"},
                                              {PixelFormat::kBGRA, "bgra"},
                                              {PixelFormat::kGray, "gray"}};
struct ResizeModeSource {
  int w;
  int h;
  int pad;
};
inline constexpr ResizeModeSource kResizeModeSources[] = {
    {810, 1080, 0}, {1280, 1280, 1}, {640, 480, 13}, {301, 157, 64}};

// Recorded yolo11n raw outputs ([84, 8400] float32 per image; unrecorded anchors score 0).
struct RecordedOutputs {
  int channels = 0;
  int anchors = 0;
  std::vector<std::string> keys;
  std::vector<int32_t> sizes;  // [w, h] per key
  std::vector<std::vector<float>> raw;
};
const RecordedOutputs& recorded_outputs(const Paths& paths);

// The CPU path. With `stats`, also each image's content statistics (kImageStatsCount doubles each),
// measured with `threads` row bands per batch.
std::vector<uint8_t> cpu_letterbox(const cuda::HostImage* images, int n, int w, int h, cuda::ElementType type,
                                   std::vector<LetterboxGeometry>* geometry,
                                   std::vector<double>* stats = nullptr, int threads = 1);
std::vector<cuda::Rows> cpu_postprocess(const float* raw, int n, int channels, int anchors, int input_w,
                                        int input_h, const std::vector<int32_t>& orig_sizes,
                                        const cuda::PostParams& params);

// float32 values -> float16 bits, and float16 bits -> the exactly widened float32 values.
std::vector<uint16_t> to_half(const std::vector<float>& v);
std::vector<float> widen_half(const std::vector<uint16_t>& h);

// Inference stand-in: copies recorded raw outputs (float32 or float16 bits, per image `per_image_bytes`)
// into the engine's output buffer, and copies the engine's input tensor back to the host.
class FakeInference final : public cuda::InferenceStep {
 public:
  FakeInference(const void* raw, size_t per_image_bytes, size_t input_bytes_per_image)
      : raw_(static_cast<const uint8_t*>(raw)), per_image_(per_image_bytes), input_per_image_(input_bytes_per_image) {}
  void enqueue(int batch, void* input, void* output, cudaStream_t stream) override;
  const std::vector<uint8_t>& input() const { return input_; }

 private:
  const uint8_t* raw_;
  size_t per_image_;
  size_t input_per_image_;
  std::vector<uint8_t> input_;
};

// "" when equal, else "<what>: first difference at byte i (a vs b)" or a size mismatch.
std::string compare_bytes(const std::string& what, const void* a, size_t a_bytes, const void* b, size_t b_bytes);
std::string compare_rows(const std::vector<cuda::Rows>& gpu, const std::vector<cuda::Rows>& cpu);

}  // namespace yolo::gpu_cases
