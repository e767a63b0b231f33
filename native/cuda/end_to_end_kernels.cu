// End-to-end outputs [batch, K, 6] on the GPU: one thread per image runs core/end_to_end.h's
// end_to_end_select and end_to_end_detection, the very functions native/cpu/postprocess_end_to_end.cpp
// loops over, so the rows equal the CPU's bit for bit. K is a few hundred rows: a sequential scan per image
// is exact (the model's order is the contract) and costs microseconds.
//
// float16 outputs are first widened into float32 scratch (exact), then scanned like float32 ones: the CPU
// path sees the same widened values (the CPU backend converts float16 outputs to float32 too).
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "core/end_to_end.h"
#include "core/scale_boxes.h"
#include "cuda_check.h"
#include "kernels.h"
#include "launch.h"

namespace yolo::cuda {
namespace {

__global__ void widen_half_kernel(const __half* src, int64_t count, float* dst) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count) dst[i] = __half2float(src[i]);
}

__global__ void end_to_end_kernel(const float* raw, EndToEndParams p, int32_t* keep, float* rows,
                                  int32_t* out_counts) {
  const int b = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (b >= p.batch) return;
  const float* image = raw + static_cast<int64_t>(b) * p.rows * kEndToEndRowLength;
  int32_t* kept = keep + static_cast<int64_t>(b) * p.rows;
  const EndToEndSelection s =
      end_to_end_select(image, p.rows, p.conf, p.class_allowed, p.num_classes, p.max_det, kept);
  if (s.bad_row >= 0) {
    out_counts[b] = -1 - s.bad_row;
    return;
  }
  const BoxScale scale = box_scale_for(p.input_w, p.input_h, p.orig_sizes[2 * b], p.orig_sizes[2 * b + 1]);
  float* out = rows + static_cast<int64_t>(b) * p.max_det * kEndToEndRowLength;
  for (int k = 0; k < s.count; ++k) {
    end_to_end_detection(image + static_cast<int64_t>(kept[k]) * kEndToEndRowLength, scale,
                         out + static_cast<int64_t>(k) * kEndToEndRowLength);
  }
  out_counts[b] = s.count;
}

}  // namespace

void launch_end_to_end(const void* raw, ElementType raw_type, const EndToEndParams& p, float* scratch,
                       int32_t* keep, float* rows, int32_t* out_counts, cudaStream_t stream) {
  if (p.batch <= 0) return;
  const float* values = static_cast<const float*>(raw);
  if (raw_type == ElementType::kFloat16) {
    const int64_t count = static_cast<int64_t>(p.batch) * p.rows * kEndToEndRowLength;
    if (count > 0) {
      const int threads = 256;
      const auto blocks = static_cast<unsigned>((count + threads - 1) / threads);
      launch("widen_half_kernel", widen_half_kernel, dim3(blocks), dim3(threads), stream, raw, count, scratch);
    }
    values = scratch;
  } else if (raw_type != ElementType::kFloat32) {
    throw Error(code::kInternal, "end_to_end: unsupported output type");
  }
  const int threads = 64;
  const auto blocks = static_cast<unsigned>((p.batch + threads - 1) / threads);
  launch("end_to_end_kernel", end_to_end_kernel, dim3(blocks), dim3(threads), stream, values, p, keep, rows,
         out_counts);
}

}  // namespace yolo::cuda
