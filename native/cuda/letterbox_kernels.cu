// Letterbox kernels: a batch of 8-bit images of different sizes and formats -> one planar RGB NCHW tensor
// (float32, float16 bits or uint8) in a single launch. Per output pixel the arithmetic is exactly the
// CPU pipeline's (native/cpu/preprocess.cpp): the same core/ functions, integer resize, v / 255.0f.
// Optionally the same launch accumulates the drift-monitoring content statistics (core/image_stats.h).
#include <cuda_runtime.h>

#include "core/image_stats.h"
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

// 32 x 8: a warp covers 32 consecutive output columns, so each plane store is one coalesced segment.
constexpr int kBlockW = 32;
constexpr int kBlockH = 8;
constexpr int kBlockThreads = kBlockW * kBlockH;
static_assert(kBlockThreads <= 2048, "a block's statistics terms must fit int32 (core/image_stats.h)");

// The resized R, G, B of content pixel (dx, dy) of image b (gray replicated): the CPU path's bytes.
__device__ void content_pixel(const LetterboxJob& job, int b, const uint8_t* src, const ResizeTap* cols,
                              const ResizeTap* rows, int dst_w, int dst_h, int dx, int dy, int* v) {
  const PixelFormat fmt = static_cast<PixelFormat>(job.format);
  const int cn = pixel_channels(fmt);
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

// Adds the block's content pixels to the image's statistics (core/image_stats.h terms). Every thread of
// the block must call it (it synchronizes); `v` is the thread's own resized pixel when `content`. The
// Laplacian needs the luminance of the 4 neighbours: those inside the block come from a shared tile, the
// one-pixel ring around the block is resized again here (as the CPU bands resize the row above and below
// them), so no pass over the tensor follows. Per block the terms are summed in shared memory, then added
// to the image's sums with one 64-bit atomic each; integer sums make the result independent of the order.
__device__ void block_stats(const LetterboxJob& job, int b, const uint8_t* src, const ResizeTap* cols,
                            const ResizeTap* rows, int dst_w, int dst_h, bool content, const int* v,
                            DeviceImageStats* stats) {
  __shared__ int32_t sums[kImageStatsTerms][kBlockThreads];
  __shared__ unsigned int hist[kLumaBins];
  __shared__ uint8_t luma[kBlockH + 2][kBlockW + 2];  // the block's pixels at [1 + ty][1 + tx], ring around
  const int tx = threadIdx.x;
  const int ty = threadIdx.y;
  const int tid = ty * kBlockW + tx;
  for (int i = tid; i < kLumaBins; i += kBlockThreads) hist[i] = 0;
  // Content coordinates of the block's first pixel.
  const int cx0 = static_cast<int>(blockIdx.x) * kBlockW - job.left;
  const int cy0 = static_cast<int>(blockIdx.y) * kBlockH - job.top;
  int32_t t[kImageStatsTerms];
  for (int k = 0; k < kImageStatsTerms; ++k) t[k] = 0;
  __syncthreads();
  if (content) {
    const uint8_t y = image_stats_pixel_terms(v[0], v[1], v[2], t);
    atomicAdd(&hist[y], 1u);
    luma[1 + ty][1 + tx] = y;
  }
  // The ring: kBlockW cells above and below, kBlockH left and right (the corners are no one's neighbour).
  for (int h = tid; h < 2 * (kBlockW + kBlockH); h += kBlockThreads) {
    int lx, ly;
    if (h < 2 * kBlockW) {
      lx = 1 + h % kBlockW;
      ly = h < kBlockW ? 0 : kBlockH + 1;
    } else {
      const int k = h - 2 * kBlockW;
      lx = k < kBlockH ? 0 : kBlockW + 1;
      ly = 1 + k % kBlockH;
    }
    const int dx = cx0 + lx - 1;
    const int dy = cy0 + ly - 1;
    if (dx >= 0 && dy >= 0 && dx < job.new_w && dy < job.new_h) {
      int n[3];
      content_pixel(job, b, src, cols, rows, dst_w, dst_h, dx, dy, n);
      luma[ly][lx] = luma_bt601(n[0], n[1], n[2]);
    }
  }
  __syncthreads();
  // Interior pixels only (their 4 neighbours are content, so every tile cell read was written above).
  const int dx = cx0 + tx;
  const int dy = cy0 + ty;
  if (content && dx >= 1 && dy >= 1 && dx + 1 < job.new_w && dy + 1 < job.new_h) {
    const int lap = laplacian_3x3(luma[ty][1 + tx], luma[1 + ty][tx], luma[1 + ty][1 + tx],
                                  luma[1 + ty][2 + tx], luma[2 + ty][1 + tx]);
    image_stats_laplacian_terms(lap, t);
  }
  for (int k = 0; k < kImageStatsTerms; ++k) sums[k][tid] = t[k];
  __syncthreads();
  for (int half = kBlockThreads / 2; half > 0; half >>= 1) {
    if (tid < half) {
      for (int k = 0; k < kImageStatsTerms; ++k) sums[k][tid] += sums[k][tid + half];
    }
    __syncthreads();
  }
  // Negative sums (R - G, ...) wrap modulo 2^64, which is what the signed 64-bit sum would hold.
  if (tid < kImageStatsTerms && sums[tid][0] != 0) {
    atomicAdd(&stats->terms[tid], static_cast<unsigned long long>(static_cast<long long>(sums[tid][0])));
  }
  for (int i = tid; i < kLumaBins; i += kBlockThreads) {
    if (hist[i] != 0) atomicAdd(&stats->luma_hist[i], hist[i]);
  }
}

// One thread per output pixel (all three channels); blockIdx.z is the image. kStats: also accumulate the
// content statistics into stats[b] (a separate instantiation, so a launch without them pays nothing).
template <typename T, bool kStats>
__global__ void letterbox_kernel(const LetterboxJob* jobs, const uint8_t* src, const ResizeTap* cols,
                                 const ResizeTap* rows, int dst_w, int dst_h, T* dst,
                                 DeviceImageStats* stats) {
  __shared__ T lut[256];
  const int tid = threadIdx.y * blockDim.x + threadIdx.x;
  for (int v = tid; v < 256; v += blockDim.x * blockDim.y) lut[v] = byte_value<T>(v);
  __syncthreads();

  const int b = blockIdx.z;
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  const LetterboxJob job = jobs[b];
  const int dx = x - job.left;
  const int dy = y - job.top;
  const bool inside = x < dst_w && y < dst_h;
  const bool content = inside && dx >= 0 && dy >= 0 && dx < job.new_w && dy < job.new_h;

  int v[3] = {kLetterboxPad, kLetterboxPad, kLetterboxPad};
  if (content) content_pixel(job, b, src, cols, rows, dst_w, dst_h, dx, dy, v);
  if (inside) {
    const size_t plane = static_cast<size_t>(dst_w) * static_cast<size_t>(dst_h);
    T* out = dst + static_cast<size_t>(b) * 3 * plane + static_cast<size_t>(y) * dst_w + x;
    out[0] = lut[v[0]];
    out[plane] = lut[v[1]];
    out[2 * plane] = lut[v[2]];
  }
  if constexpr (kStats) {
    // Whether the block holds any content is the same for all its threads: blocks of padding only skip.
    const int bx0 = static_cast<int>(blockIdx.x) * kBlockW;
    const int by0 = static_cast<int>(blockIdx.y) * kBlockH;
    if (bx0 < job.left + job.new_w && bx0 + kBlockW > job.left && by0 < job.top + job.new_h &&
        by0 + kBlockH > job.top) {
      block_stats(job, b, src, cols, rows, dst_w, dst_h, content, v, stats + b);
    }
  }
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

template <typename T>
void launch_letterbox_of(const LetterboxJob* jobs, int n, const uint8_t* src, const ResizeTap* cols,
                         const ResizeTap* rows, int dst_w, int dst_h, void* dst, DeviceImageStats* stats,
                         cudaStream_t stream) {
  const dim3 block(kBlockW, kBlockH);
  const dim3 grid((dst_w + kBlockW - 1) / kBlockW, (dst_h + kBlockH - 1) / kBlockH, n);
  if (stats != nullptr) {
    launch("letterbox_kernel(stats)", letterbox_kernel<T, true>, grid, block, stream, jobs, src, cols, rows,
           dst_w, dst_h, dst, stats);
  } else {
    launch("letterbox_kernel", letterbox_kernel<T, false>, grid, block, stream, jobs, src, cols, rows, dst_w,
           dst_h, dst, stats);
  }
}

void launch_letterbox(const LetterboxJob* jobs, int n, const uint8_t* src, const ResizeTap* cols,
                      const ResizeTap* rows, int dst_w, int dst_h, ElementType type, void* dst,
                      DeviceImageStats* stats, cudaStream_t stream) {
  if (n <= 0) return;
  switch (type) {
    case ElementType::kFloat32:
      launch_letterbox_of<float>(jobs, n, src, cols, rows, dst_w, dst_h, dst, stats, stream);
      break;
    case ElementType::kFloat16:
      launch_letterbox_of<uint16_t>(jobs, n, src, cols, rows, dst_w, dst_h, dst, stats, stream);
      break;
    case ElementType::kUint8:
      launch_letterbox_of<uint8_t>(jobs, n, src, cols, rows, dst_w, dst_h, dst, stats, stream);
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
