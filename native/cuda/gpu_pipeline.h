// The GPU pipeline of one execution slot: pinned staging upload of 8-bit images -> letterbox kernel
// straight into the engine's input buffer -> inference (an InferenceStep: TensorRT, or in tests an upload
// of recorded raw outputs) -> decode/NMS kernels -> download of the detection rows. Everything runs on
// the slot's own stream; one call is one synchronous job on the calling (worker) thread.
//
// Not thread-safe: one pipeline serves one request at a time (the TensorRT context pool hands each
// request its own slot). A failed call leaves the stream idle, so the slot can be reused at once; after a
// sticky CUDA error every call throws the device-lost error (cuda_check.h).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/image_stats.h"
#include "core/letterbox.h"
#include "core/pixel.h"
#include "cuda_raii.h"
#include "kernels.h"

namespace yolo::cuda {

// A borrowed, already validated view of interleaved 8-bit pixels (see cpu::validate_image).
struct HostImage {
  const uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
  size_t stride = 0;
  PixelFormat format = PixelFormat::kRGB;
};

struct PipelineConfig {
  int device = 0;
  int max_batch = 1;
  int input_w = 640;
  int input_h = 640;
  ElementType input_type = ElementType::kFloat32;  // float32 or float16
  int channels = 84;                               // 4 + nc
  int anchors = 8400;
  ElementType output_type = ElementType::kFloat32;  // float32 or float16
  // End-to-end output [batch, K, 6] (core/end_to_end.h) instead of the classic [batch, 4 + nc, anchors]:
  // then channels = K rows, anchors = 6, and num_classes says how many classes the model has.
  bool end_to_end = false;
  int num_classes = 0;
  // Most detections per image any call may ask for: the detection buffers are sized for it here, so no
  // call ever frees and reallocates device memory (cudaFree synchronizes the whole device). At most
  // kMaxNmsCandidates (30 000): NMS never keeps more than it considers.
  int max_det = 300;
};

struct PostParams {
  float conf = 0.25f;
  double iou = 0.7;
  int max_det = 300;
  bool agnostic = false;
  std::vector<uint8_t> class_allowed;  // nc flags, or empty for all classes
};

struct StageTimes {
  double preprocess_ms = 0;  // host packing + upload + letterbox
  double inference_ms = 0;
  double postprocess_ms = 0;  // decode + sort + NMS + download
};

// Rows of [x1, y1, x2, y2, score, cls] of one image, best first.
using Rows = std::vector<float>;

// The model run between preprocessing and postprocessing, enqueued on the pipeline's stream.
class InferenceStep {
 public:
  virtual ~InferenceStep() = default;
  // `batch` images are in `input`; the step must leave [batch, channels, anchors] in `output` (end-to-end:
  // [batch, K, 6]).
  virtual void enqueue(int batch, void* input, void* output, cudaStream_t stream) = 0;
};

class GpuPipeline {
 public:
  explicit GpuPipeline(const PipelineConfig& config);
  GpuPipeline(const GpuPipeline&) = delete;
  GpuPipeline& operator=(const GpuPipeline&) = delete;

  const PipelineConfig& config() const noexcept { return config_; }
  // The engine's input and output buffers (TensorRT binds its tensor addresses to these once).
  void* input() const noexcept { return input_.get(); }
  void* output() const noexcept { return output_.get(); }
  cudaStream_t stream() const noexcept { return stream_.get(); }

  // 1 <= n <= max_batch images -> detections in original-image pixels. With `stats_out` (n *
  // kImageStatsCount doubles) the letterbox kernel also measures each image's content statistics
  // (core/image_stats.h), the values the CPU path's preprocess gives.
  std::vector<Rows> detect(const HostImage* images, int n, const PostParams& params, InferenceStep& infer,
                           StageTimes* times, double* stats_out = nullptr);
  // An already letterboxed float32 tensor [n, 3, input_h, input_w] -> detections in input pixels.
  std::vector<Rows> detect_tensor(const float* tensor, int n, const PostParams& params, InferenceStep& infer,
                                  StageTimes* times);

  // Test entry points (scripts/gpu-check): the letterbox kernel alone, into host memory of `type`
  // ([n, 3, input_h, input_w]), with each image's statistics accumulator when `stats_out` is given (n of
  // them); and decode/NMS alone on host float32 raw outputs.
  void letterbox_to_host(const HostImage* images, int n, ElementType type, void* host_out,
                         LetterboxGeometry* geometry, ImageStatsAccum* stats_out = nullptr);
  std::vector<Rows> postprocess_host(const float* raw, int n, const int32_t* orig_sizes,
                                     const PostParams& params);

  // Kernel-only timings for benchmarks: letterbox of the images already uploaded by the last call, and
  // decode + NMS of what is in output(); each returns microseconds per launch, `iterations` samples.
  // `stats`: time the letterbox with the content statistics (zeroing and copying back the accumulators
  // included).
  std::vector<float> time_letterbox(const HostImage* images, int n, int iterations, bool stats = false);
  std::vector<float> time_postprocess(const float* raw, int n, const int32_t* orig_sizes,
                                      const PostParams& params, int iterations);

 private:
  // Packs jobs, sizes, class flags and pixels into pinned staging; enqueue_upload() then copies it all
  // to the device in one transfer.
  void upload_batch(const HostImage* images, int n, const int32_t* orig_sizes, const PostParams& params,
                    LetterboxGeometry* geometry);
  void enqueue_upload();
  // With `stats` the accumulators are zeroed, filled by the kernel and copied to host_stats_.
  void enqueue_letterbox(int n, ElementType type, void* dst, bool stats);
  // Host accumulators of the last letterbox with statistics (after the stream synchronized).
  void collect_stats(int n, ImageStatsAccum* out) const;
  void enqueue_postprocess(int n, const PostParams& params);
  void enqueue_classic(int n, const PostParams& params, int max_det);
  void enqueue_end_to_end(int n, const PostParams& params, int max_det);
  int num_classes() const noexcept { return config_.end_to_end ? config_.num_classes : config_.channels - 4; }
  std::vector<Rows> collect_rows(int n, int max_det);
  void check_batch(int n, const char* what) const;
  int checked_max_det(const PostParams& params) const;
  // Runs one job on the stream; if it throws, first waits for whatever it had enqueued (see .cpp).
  template <class Job>
  auto run_job(Job&& job) -> decltype(job());
  void drain() noexcept;
  static int make_current(int device);

  int device_;  // first: made current before the stream and events are created
  PipelineConfig config_;
  int key_stride_ = 0;
  int box_stride_ = 0;
  Stream stream_;
  Event start_;
  Event preprocessed_;
  Event inferred_;
  Event finished_;
  DeviceBuffer input_;
  DeviceBuffer output_;
  DeviceBuffer batch_;  // uploaded staging layout (jobs, sizes, class flags, pixels)
  DeviceBuffer col_taps_;
  DeviceBuffer row_taps_;
  DeviceBuffer counts_;
  DeviceBuffer keys_;
  DeviceBuffer classes_;
  DeviceBuffer boxes_;
  DeviceBuffer det_rows_;
  DeviceBuffer det_counts_;
  DeviceBuffer e2e_values_;  // end-to-end: float16 outputs widened to float32
  DeviceBuffer e2e_keep_;    // end-to-end: indices of the kept rows
  DeviceBuffer stats_;       // DeviceImageStats per image (small: allocated with the rest, used on request)
  DeviceBuffer tensor_;  // detect_tensor: float32 upload before conversion to float16
  PinnedBuffer staging_;
  PinnedBuffer host_rows_;
  PinnedBuffer host_counts_;
  PinnedBuffer host_stats_;
  // Offsets of the parts of the last upload inside batch_.
  size_t jobs_offset_ = 0;
  size_t sizes_offset_ = 0;
  size_t flags_offset_ = 0;
  bool has_flags_ = false;
  size_t staged_bytes_ = 0;
};

}  // namespace yolo::cuda
