// Host-side declarations of the CUDA kernels (launchers live in the .cu files). Each kernel is an index
// computation around a native/core YOLO_HD function: the same arithmetic the CPU pipeline runs, so the
// CPU tests (which run in CI) test the GPU math too, and on a GPU results match the CPU bit for bit.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "core/image_stats.h"
#include "core/resize_linear.h"

namespace yolo::cuda {

// Element type of a tensor on the device. Values are part of the internal ABI with the addon.
enum class ElementType : int32_t { kFloat32 = 0, kFloat16 = 1, kUint8 = 2 };

inline int element_bytes(ElementType t) {
  return t == ElementType::kFloat32 ? 4 : (t == ElementType::kFloat16 ? 2 : 1);
}

// How the content of one image is produced (mirrors native/cpu/preprocess.cpp's ResizeMode).
enum class ResizeMode : int32_t { kCopy = 0, kArea2x = 1, kLinear = 2 };

// One image of a letterbox batch, as the kernels see it. Built on the host from the image view and
// yolo::letterbox_geometry; `src_offset` points into the uploaded (tightly packed) staging bytes.
struct LetterboxJob {
  int64_t src_offset;
  int64_t src_stride;  // bytes per row in the uploaded copy
  int32_t width;
  int32_t height;
  int32_t format;  // yolo::PixelFormat
  int32_t mode;    // ResizeMode
  int32_t new_w;
  int32_t new_h;
  int32_t left;
  int32_t top;
};

// Per-image tap tables: image i's column taps at cols[i * dst_w], row taps at rows[i * dst_h].
// Computed on the device by resize_column_tap / resize_row_tap (linear mode only).
void launch_resize_taps(const LetterboxJob* jobs, int n, int dst_w, int dst_h, ResizeTap* cols,
                        ResizeTap* rows, cudaStream_t stream);

// One image's content statistics as the letterbox kernel accumulates them (core/image_stats.h's terms,
// each a sum modulo 2^64, and the luminance histogram). image_stats_add_terms turns it into an
// ImageStatsAccum on the host.
struct DeviceImageStats {
  unsigned long long terms[kImageStatsTerms];
  unsigned int luma_hist[kLumaBins];
};

// Letterboxes n images into dst ([n, 3, dst_h, dst_w] of `type`, planar RGB; float16 as IEEE bits).
// With `stats` (n zeroed DeviceImageStats) the same launch also adds each image's content statistics
// (over the resized content only) into stats[i]; nullptr runs the kernel without that work.
void launch_letterbox(const LetterboxJob* jobs, int n, const uint8_t* src, const ResizeTap* cols,
                      const ResizeTap* rows, int dst_w, int dst_h, ElementType type, void* dst,
                      DeviceImageStats* stats, cudaStream_t stream);

// Converts a host-made float32 NCHW tensor already on the device into the engine's input type.
void launch_convert_input(const float* src, int64_t count, ElementType type, void* dst, cudaStream_t stream);

struct DecodeParams {
  int batch;
  int channels;  // 4 + nc
  int anchors;
  float conf;                    // candidates need score > conf
  const uint8_t* class_allowed;  // device, nc flags; nullptr = all classes
  int key_stride;                // keys per image (>= anchors)
};

// Per anchor: best class (first argmax), strict threshold, class filter; candidates are appended to
// keys[b * key_stride + k] as sortable 64-bit keys (score bits high, ~anchor low) and counted in
// counts[b] (zeroed by the caller). The append order is arbitrary; the sort makes it deterministic.
// classes[b * anchors + a] receives each candidate's class.
void launch_decode(const void* raw, ElementType raw_type, const DecodeParams& p, uint32_t* counts,
                   uint64_t* keys, int32_t* classes, cudaStream_t stream);

struct NmsParams {
  int batch;
  int channels;
  int anchors;
  double iou;
  int max_det;
  bool agnostic;
  int input_w;
  int input_h;
  const int32_t* orig_sizes;  // device, [w0, h0] per image
  int key_stride;             // a power of two >= anchors
  int box_stride;             // boxes per image in the scratch (>= min(anchors, kMaxNmsCandidates))
};

// One block per image: sorts the candidate keys (score desc, anchor asc), keeps the first
// kMaxNmsCandidates, runs greedy class-offset NMS (exactly core/nms.h's greedy_nms), and writes up to
// max_det rows [x1, y1, x2, y2, score, cls] in original-image pixels to rows[b * max_det], the count to
// out_counts[b]. `boxes` is scratch of batch * box_stride * nms_box_bytes() bytes.
void launch_sort_nms(const void* raw, ElementType raw_type, const NmsParams& p, const uint32_t* counts,
                     uint64_t* keys, const int32_t* classes, void* boxes, float* rows, int32_t* out_counts,
                     cudaStream_t stream);

// Bytes of NMS scratch per candidate (an offset box and its area).
size_t nms_box_bytes();

// End-to-end outputs [batch, rows, 6] (x1, y1, x2, y2, score, cls in input pixels, ranked by the model).
struct EndToEndParams {
  int batch;
  int rows;  // K
  int num_classes;
  float conf;                    // rows need score > conf
  const uint8_t* class_allowed;  // device, num_classes flags; nullptr = all classes
  int max_det;
  int input_w;
  int input_h;
  const int32_t* orig_sizes;  // device, [w0, h0] per image
};

// core/end_to_end.h per image (one thread each): the first max_det rows above conf of allowed classes, in
// the model's order, scale_boxes'd into rows[b * max_det] (6 floats each); out_counts[b] = how many, or
// -1 - r when row r above conf has a class column that is not a class id (the caller reports it).
// `scratch` holds batch * rows * 6 floats (used for float16 outputs), `keep` batch * rows ints.
void launch_end_to_end(const void* raw, ElementType raw_type, const EndToEndParams& p, float* scratch,
                       int32_t* keep, float* rows, int32_t* out_counts, cudaStream_t stream);

}  // namespace yolo::cuda
