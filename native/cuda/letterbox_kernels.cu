// Letterbox kernels: a batch of 8-bit images of different sizes and formats -> one planar RGB NCHW tensor
// (float32, float16 bits or uint8) in a single launch. Per output pixel the arithmetic is exactly the
// CPU pipeline's (native/cpu/preprocess.cpp): the same core/ functions, integer resize, v / 255.0f.
#include <cuda_runtime.h>

#include "core/letterbox.h"
#include "core/pixel.h"
#include "core/resize_linear.h"
#include "cuda_check.h"
#include "kernels.h"
#include "launch.h"

namespace yolo::cuda {
namespace {

__global__ void resize_taps_kernel(const LetterboxJob* jobs, int dst_w, int dst_h, ResizeTap* cols,
                                   ResizeTap* rows) {
  const int b = blockIdx.y;
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  const LetterboxJob job = jobs[b];
  if (job.mode != static_cast<int32_t>(ResizeMode::kLinear)) return;
  if (t < job.new_w) {
    cols[static_cast<size_t>(b) * dst_w + t] =
        resize_column_tap(t, job.width, resize_axis_scale(job.width, job.new_w));
  }
  if (t < job.new_h) {
    rows[static_cast<size_t>(b) * dst_h + t] =
        resize_row_tap(t, job.height, resize_axis_scale(job.height, job.new_h));
  }
}

// Tensor value of a byte, per output type (the CPU pipeline's ByteTables, computed by the same functions).
template <typename T>
__device__ T byte_value(int v);
template <>
__device__ float byte_value<float>(int v) {
  return normalize_u8(static_cast<uint8_t>(v));
}
template <>
__device__ uint16_t byte_value<uint16_t>(int v) {
  return normalize_u8_half(static_cast<uint8_t>(v));
}
template <>
__device__ uint8_t byte_value<uint8_t>(int v) {
  return static_cast<uint8_t>(v);
}

// One thread per output pixel (all three channels); blockIdx.z is the image.
template <typename T>
__global__ void letterbox_kernel(const LetterboxJob* jobs, const uint8_t* src, const ResizeTap* cols,
                                 const ResizeTap* rows, int dst_w, int dst_h, T* dst) {
  __shared__ T lut[256];
  const int tid = threadIdx.y * blockDim.x + threadIdx.x;
  for (int v = tid; v < 256; v += blockDim.x * blockDim.y) lut[v] = byte_value<T>(v);
  __syncthreads();

  const int b = blockIdx.z;
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= dst_w || y >= dst_h) return;
  const LetterboxJob job = jobs[b];
  const PixelFormat fmt = static_cast<PixelFormat>(job.format);
  const int cn = pixel_channels(fmt);
  const int dx = x - job.left;
  const int dy = y - job.top;

  int v[3] = {kLetterboxPad, kLetterboxPad, kLetterboxPad};
  if (dx >= 0 && dy >= 0 && dx < job.new_w && dy < job.new_h) {
    const uint8_t* image = src + job.src_offset;
    const int planes = fmt == PixelFormat::kGray ? 1 : 3;  // gray: one value, replicated
    if (job.mode == static_cast<int32_t>(ResizeMode::kCopy)) {
      const uint8_t* p = image + static_cast<int64_t>(dy) * job.src_stride + static_cast<int64_t>(dx) * cn;
      for (int c = 0; c < planes; ++c) v[c] = fetch_rgb(p, fmt, c);
    } else if (job.mode == static_cast<int32_t>(ResizeMode::kArea2x)) {
      const uint8_t* r0 = image + static_cast<int64_t>(2 * dy) * job.src_stride;
      const uint8_t* r1 = r0 + job.src_stride;
      for (int c = 0; c < planes; ++c) {
        const int a = 2 * dx * cn + rgb_channel_offset(fmt, c);
        v[c] = area2x_average(r0[a], r0[a + cn], r1[a], r1[a + cn]);
      }
    } else {
      const ResizeTap ct = cols[static_cast<size_t>(b) * dst_w + dx];
      const ResizeTap rt = rows[static_cast<size_t>(b) * dst_h + dy];
      const uint8_t* r0 = image + static_cast<int64_t>(rt.i0) * job.src_stride;
      const uint8_t* r1 = image + static_cast<int64_t>(rt.i1) * job.src_stride;
      const int o0 = ct.i0 * cn;
      const int o1 = ct.i1 * cn;
      for (int c = 0; c < planes; ++c) {
        const int o = rgb_channel_offset(fmt, c);
        const int h0 = resize_horizontal_shifted(r0[o0 + o], r0[o1 + o], ct.w0, ct.w1);
        const int h1 = resize_horizontal_shifted(r1[o0 + o], r1[o1 + o], ct.w0, ct.w1);
        v[c] = resize_vertical_shifted(h0, h1, rt.w0, rt.w1);
      }
    }
    if (planes == 1) v[1] = v[2] = v[0];
  }
  const size_t plane = static_cast<size_t>(dst_w) * static_cast<size_t>(dst_h);
  T* out = dst + static_cast<size_t>(b) * 3 * plane + static_cast<size_t>(y) * dst_w + x;
  out[0] = lut[v[0]];
  out[plane] = lut[v[1]];
  out[2 * plane] = lut[v[2]];
}

__global__ void convert_input_kernel(const float* src, int64_t count, uint16_t* dst) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count) dst[i] = float_to_half_bits(src[i]);
}

}  // namespace

void launch_resize_taps(const LetterboxJob* jobs, int n, int dst_w, int dst_h, ResizeTap* cols,
                        ResizeTap* rows, cudaStream_t stream) {
  if (n <= 0) return;
  const int longest = dst_w > dst_h ? dst_w : dst_h;
  const dim3 block(256);
  const dim3 grid((longest + 255) / 256, n);
  launch("resize_taps_kernel", resize_taps_kernel, grid, block, stream, jobs, dst_w, dst_h, cols, rows);
}

void launch_letterbox(const LetterboxJob* jobs, int n, const uint8_t* src, const ResizeTap* cols,
                      const ResizeTap* rows, int dst_w, int dst_h, ElementType type, void* dst,
                      cudaStream_t stream) {
  if (n <= 0) return;
  // 32 x 8: a warp covers 32 consecutive output columns, so each plane store is one coalesced segment.
  const dim3 block(32, 8);
  const dim3 grid((dst_w + 31) / 32, (dst_h + 7) / 8, n);
  switch (type) {
    case ElementType::kFloat32:
      launch("letterbox_kernel", letterbox_kernel<float>, grid, block, stream, jobs, src, cols, rows, dst_w,
             dst_h, dst);
      break;
    case ElementType::kFloat16:
      launch("letterbox_kernel", letterbox_kernel<uint16_t>, grid, block, stream, jobs, src, cols, rows, dst_w,
             dst_h, dst);
      break;
    case ElementType::kUint8:
      launch("letterbox_kernel", letterbox_kernel<uint8_t>, grid, block, stream, jobs, src, cols, rows, dst_w,
             dst_h, dst);
      break;
  }
}

void launch_convert_input(const float* src, int64_t count, ElementType type, void* dst, cudaStream_t stream) {
  if (count <= 0) return;
  if (type == ElementType::kFloat32) {
    check(cudaMemcpyAsync(dst, src, static_cast<size_t>(count) * sizeof(float), cudaMemcpyDeviceToDevice,
                          stream),
          "cudaMemcpyAsync(input tensor)");
    return;
  }
  if (type != ElementType::kFloat16) throw Error(code::kInternal, "convert_input: unsupported input type");
  const int threads = 256;
  const auto blocks = static_cast<unsigned>((count + threads - 1) / threads);
  launch("convert_input_kernel", convert_input_kernel, dim3(blocks), dim3(threads), stream, src, count, dst);
}

}  // namespace yolo::cuda
