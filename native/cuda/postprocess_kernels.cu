// Decode + threshold + candidate compaction, then one block per image for the deterministic sort and
// the greedy class-offset NMS. The per-anchor and per-pair arithmetic is core/decode.h, core/nms.h and
// core/scale_boxes.h, so the result equals native/cpu/postprocess.cpp's row for row.
//
// Determinism: the decode kernel appends candidates in whatever order atomics give, but each carries a
// unique 64-bit key (score bits, then the complement of the anchor index), and sorting the keys in
// descending order is exactly candidate_before's order (score desc, anchor asc). Scores of candidates
// are > conf >= 0, so their IEEE bits order like the floats.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "core/decode.h"
#include "core/nms.h"
#include "core/scale_boxes.h"
#include "cuda_check.h"
#include "kernels.h"
#include "launch.h"

namespace yolo::cuda {
namespace {

constexpr int kSortThreads = 1024;
constexpr int kSharedSortCap = 4096;  // keys sorted in shared memory (32 KB); more go through global memory
constexpr int kMaskWords = (kMaxNmsCandidates + 31) / 32;

__device__ __forceinline__ float load_value(const float* p, int64_t i) {
  return p[i];
}
__device__ __forceinline__ float load_value(const __half* p, int64_t i) {
  return __half2float(p[i]);
}

__device__ __forceinline__ uint64_t candidate_key(float score, int anchor) {
  return (static_cast<uint64_t>(__float_as_uint(score)) << 32) |
         static_cast<uint64_t>(0xffffffffu - static_cast<uint32_t>(anchor));
}
__device__ __forceinline__ float key_score(uint64_t key) {
  return __uint_as_float(static_cast<uint32_t>(key >> 32));
}
__device__ __forceinline__ int key_anchor(uint64_t key) {
  return static_cast<int>(0xffffffffu - static_cast<uint32_t>(key & 0xffffffffu));
}

// Best class of one anchor. float32 outputs go straight through core's anchor_best_class; float16
// outputs apply the same rule (class_score_beats, first argmax) to the exactly widened values.
__device__ __forceinline__ AnchorBest best_class(const float* scores, int64_t stride, int nc) {
  return anchor_best_class(scores, stride, nc);
}
__device__ __forceinline__ AnchorBest best_class(const __half* scores, int64_t stride, int nc) {
  AnchorBest b;
  b.score = __half2float(scores[0]);
  b.cls = 0;
  for (int k = 1; k < nc; ++k) {
    const float v = __half2float(scores[static_cast<int64_t>(k) * stride]);
    if (class_score_beats(v, b.score)) {
      b.score = v;
      b.cls = k;
    }
  }
  return b;
}

template <typename T>
__global__ void decode_kernel(const T* raw, DecodeParams p, uint32_t* counts, uint64_t* keys,
                              int32_t* classes) {
  const int b = blockIdx.y;
  const int a = blockIdx.x * blockDim.x + threadIdx.x;
  if (a >= p.anchors) return;
  const int64_t n = p.anchors;
  const T* image = raw + static_cast<int64_t>(b) * p.channels * n;
  const AnchorBest best = best_class(image + 4 * n + a, n, p.channels - 4);
  if (!passes_conf(best.score, p.conf)) return;
  if (p.class_allowed != nullptr && p.class_allowed[best.cls] == 0) return;
  const uint32_t slot = atomicAdd(&counts[b], 1u);
  keys[static_cast<int64_t>(b) * p.key_stride + slot] = candidate_key(best.score, a);
  classes[static_cast<int64_t>(b) * n + a] = best.cls;
}

// Bitonic sort of keys[0, size) into descending order by one block (size a power of two).
__device__ void bitonic_sort_desc(uint64_t* keys, int size) {
  for (int k = 2; k <= size; k <<= 1) {
    for (int j = k >> 1; j > 0; j >>= 1) {
      for (int i = threadIdx.x; i < size; i += blockDim.x) {
        const int partner = i ^ j;
        if (partner > i) {
          const uint64_t a = keys[i];
          const uint64_t c = keys[partner];
          const bool descending = (i & k) == 0;
          if (descending ? (a < c) : (a > c)) {
            keys[i] = c;
            keys[partner] = a;
          }
        }
      }
      __syncthreads();
    }
  }
}

__device__ __forceinline__ int next_pow2(int v) {
  int p = 1;
  while (p < v) p <<= 1;
  return p;
}

struct OffsetBox {
  BoxXYXY box;  // offset by class
  float area;
};

template <typename T>
__device__ BoxXYXY candidate_box(const T* image, int64_t n, int anchor) {
  return xywh_to_xyxy(load_value(image, anchor), load_value(image, n + anchor),
                      load_value(image, 2 * n + anchor), load_value(image, 3 * n + anchor));
}

template <typename T>
__global__ void __launch_bounds__(kSortThreads)
    sort_nms_kernel(const T* raw, NmsParams p, const uint32_t* counts, uint64_t* keys, const int32_t* classes,
                    OffsetBox* boxes, float* rows, int32_t* out_counts) {
  __shared__ uint64_t shared_keys[kSharedSortCap];
  __shared__ uint32_t suppressed[kMaskWords];
  __shared__ BoxScale scale;

  const int b = blockIdx.x;
  const int64_t n = p.anchors;
  const T* image = raw + static_cast<int64_t>(b) * p.channels * n;
  const int32_t* image_classes = classes + static_cast<int64_t>(b) * n;
  uint64_t* image_keys = keys + static_cast<int64_t>(b) * p.key_stride;
  OffsetBox* image_boxes = boxes + static_cast<int64_t>(b) * p.box_stride;
  float* image_rows = rows + static_cast<int64_t>(b) * p.max_det * 6;
  const int count =
      static_cast<int>(counts[b] < static_cast<uint32_t>(n) ? counts[b] : static_cast<uint32_t>(n));

  // 1. Sort the candidates (padding with key 0, which sorts last).
  const int size = next_pow2(count < 1 ? 1 : count);
  uint64_t* sorted = image_keys;
  if (size <= kSharedSortCap) {
    for (int i = threadIdx.x; i < size; i += blockDim.x) shared_keys[i] = i < count ? image_keys[i] : 0ull;
    __syncthreads();
    bitonic_sort_desc(shared_keys, size);
    sorted = shared_keys;
  } else {
    for (int i = count + threadIdx.x; i < size; i += blockDim.x) image_keys[i] = 0ull;
    __syncthreads();
    bitonic_sort_desc(image_keys, size);
  }

  // 2. The best kMaxNmsCandidates enter NMS: offset boxes and areas, cleared suppression mask.
  const int m = count < kMaxNmsCandidates ? count : kMaxNmsCandidates;
  for (int i = threadIdx.x; i < m; i += blockDim.x) {
    const int anchor = key_anchor(sorted[i]);
    const BoxXYXY box =
        offset_box(candidate_box(image, n, anchor), class_offset(image_classes[anchor], p.agnostic));
    image_boxes[i] = OffsetBox{box, box_area(box)};
  }
  for (int w = threadIdx.x; w < (m + 31) / 32; w += blockDim.x) suppressed[w] = 0u;
  if (threadIdx.x == 0)
    scale = box_scale_for(p.input_w, p.input_h, p.orig_sizes[2 * b], p.orig_sizes[2 * b + 1]);
  __syncthreads();

  // 3. Greedy NMS: candidate i (the best not yet suppressed) is kept and suppresses every later
  //    candidate whose IoU with it exceeds the threshold; then the next unsuppressed one is found.
  //    Same decisions as core's greedy_nms, including stopping at max_det.
  int kept = 0;
  int i = 0;
  while (i < m && kept < p.max_det) {
    if (threadIdx.x == 0) {
      const uint64_t key = sorted[i];
      const int anchor = key_anchor(key);
      const BoxXYXY box = scale_box(candidate_box(image, n, anchor), scale);
      float* row = image_rows + static_cast<int64_t>(kept) * 6;
      row[0] = box.x1;
      row[1] = box.y1;
      row[2] = box.x2;
      row[3] = box.y2;
      row[4] = key_score(key);
      row[5] = static_cast<float>(image_classes[anchor]);
    }
    ++kept;
    const OffsetBox bi = image_boxes[i];
    for (int j = i + 1 + threadIdx.x; j < m; j += blockDim.x) {
      if ((suppressed[j >> 5] >> (j & 31)) & 1u) continue;
      const OffsetBox bj = image_boxes[j];
      if (iou_suppresses(box_iou(bi.box, bi.area, bj.box, bj.area), p.iou))
        atomicOr(&suppressed[j >> 5], 1u << (j & 31));
    }
    __syncthreads();
    // Every thread computes the same next index from the same mask words.
    int next = i + 1;
    while (next < m) {
      const uint32_t free_bits = ~suppressed[next >> 5] & (0xffffffffu << (next & 31));
      if (free_bits != 0u) {
        next = (next & ~31) + __ffs(static_cast<int>(free_bits)) - 1;
        break;
      }
      next = (next & ~31) + 32;
    }
    i = next;
    __syncthreads();  // nobody changes the mask before every thread has read it
  }
  if (threadIdx.x == 0) out_counts[b] = kept;
}

}  // namespace

void launch_decode(const void* raw, ElementType raw_type, const DecodeParams& p, uint32_t* counts,
                   uint64_t* keys, int32_t* classes, cudaStream_t stream) {
  if (p.batch <= 0) return;
  const dim3 block(256);
  const dim3 grid((p.anchors + 255) / 256, p.batch);
  if (raw_type == ElementType::kFloat16) {
    launch("decode_kernel", decode_kernel<__half>, grid, block, stream, raw, p, counts, keys, classes);
  } else {
    launch("decode_kernel", decode_kernel<float>, grid, block, stream, raw, p, counts, keys, classes);
  }
}

void launch_sort_nms(const void* raw, ElementType raw_type, const NmsParams& p, const uint32_t* counts,
                     uint64_t* keys, const int32_t* classes, void* boxes, float* rows, int32_t* out_counts,
                     cudaStream_t stream) {
  if (p.batch <= 0) return;
  auto* box_scratch = static_cast<OffsetBox*>(boxes);
  const dim3 grid(static_cast<unsigned>(p.batch));
  const dim3 block(kSortThreads);
  if (raw_type == ElementType::kFloat16) {
    launch("sort_nms_kernel", sort_nms_kernel<__half>, grid, block, stream, raw, p, counts, keys, classes,
           box_scratch, rows, out_counts);
  } else {
    launch("sort_nms_kernel", sort_nms_kernel<float>, grid, block, stream, raw, p, counts, keys, classes,
           box_scratch, rows, out_counts);
  }
}

size_t nms_box_bytes() {
  return sizeof(OffsetBox);
}

}  // namespace yolo::cuda
