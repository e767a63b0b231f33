// Per-image pixel statistics for drift monitoring, accumulated inside the letterbox pass over the resized
// content only (never the 114 padding): each content row is folded into an accumulator right after the
// resize produced it, so no second pass reads the pixels.
//
// Features (image_stats_finish, in this order; kImageStatsCount values per image):
//   mean R, G, B and std R, G, B (0..255, population std);
//   luminance mean and std, with luminance the 8-bit BT.601 value OpenCV's cvtColor(RGB2GRAY) gives:
//     (R * 4899 + G * 9617 + B * 1868 + 2^13) >> 14, i.e. round(0.299 R + 0.587 G + 0.114 B);
//   contrast: p95 - p5 of that luminance (from a 256-bin histogram; pK = smallest v whose cumulative
//     count reaches K% of the pixels);
//   sharpness: variance of the 3x3 Laplacian [0 1 0; 1 -4 1; 0 1 0] (cv2.Laplacian ksize=1) of the
//     luminance, over interior pixels only (no border extrapolation), the usual "variance of Laplacian"
//     focus measure (Pech-Pacheco et al., ICPR 2000);
//   colourfulness: Hasler and Suesstrunk's M = sqrt(std_rg^2 + std_yb^2) + 0.3 sqrt(mean_rg^2 + mean_yb^2)
//     with rg = R - G and yb = (R + G) / 2 - B ("Measuring colourfulness in natural images", SPIE 2003).
// Sums are integers, so the result does not depend on how rows were split between threads (CPU bands) or
// between thread blocks (the CUDA letterbox kernel, native/cuda/letterbox_kernels.cu).
#pragma once

#include <math.h>
#include <stdint.h>

#include "hd.h"

namespace yolo {

constexpr int kImageStatsCount = 11;
constexpr int kLumaBins = 256;

struct ImageStatsAccum {
  uint64_t pixels;
  uint64_t sum[3];     // R, G, B
  uint64_t sum_sq[3];  // R^2, G^2, B^2
  uint64_t luma_sum;
  uint64_t luma_sq;
  int64_t rg_sum;    // R - G
  uint64_t rg_sq;    // (R - G)^2
  int64_t yb2_sum;   // R + G - 2B = 2 * yb (kept integer)
  uint64_t yb2_sq;   // (R + G - 2B)^2
  uint64_t lap_n;    // Laplacian samples
  int64_t lap_sum;   // Laplacian values
  uint64_t lap_sq;   // Laplacian squared
  uint32_t luma_hist[kLumaBins];
};

YOLO_HD void image_stats_reset(ImageStatsAccum* a) {
  a->pixels = 0;
  for (int c = 0; c < 3; ++c) {
    a->sum[c] = 0;
    a->sum_sq[c] = 0;
  }
  a->luma_sum = 0;
  a->luma_sq = 0;
  a->rg_sum = 0;
  a->rg_sq = 0;
  a->yb2_sum = 0;
  a->yb2_sq = 0;
  a->lap_n = 0;
  a->lap_sum = 0;
  a->lap_sq = 0;
  for (int i = 0; i < kLumaBins; ++i) a->luma_hist[i] = 0;
}

// OpenCV's fixed-point RGB -> gray (BT.601 weights scaled by 2^14, rounded).
YOLO_HD uint8_t luma_bt601(int r, int g, int b) {
  return static_cast<uint8_t>((r * 4899 + g * 9617 + b * 1868 + (1 << 13)) >> 14);
}

// Folds one content pixel in; returns its luminance (the caller keeps it for the Laplacian).
YOLO_HD uint8_t image_stats_add_pixel(ImageStatsAccum* a, int r, int g, int b) {
  a->pixels += 1;
  a->sum[0] += static_cast<uint64_t>(r);
  a->sum[1] += static_cast<uint64_t>(g);
  a->sum[2] += static_cast<uint64_t>(b);
  a->sum_sq[0] += static_cast<uint64_t>(r * r);
  a->sum_sq[1] += static_cast<uint64_t>(g * g);
  a->sum_sq[2] += static_cast<uint64_t>(b * b);
  const uint8_t y = luma_bt601(r, g, b);
  a->luma_sum += y;
  a->luma_sq += static_cast<uint64_t>(y) * y;
  a->luma_hist[y] += 1;
  const int rg = r - g;
  const int yb2 = r + g - 2 * b;
  a->rg_sum += rg;
  a->rg_sq += static_cast<uint64_t>(rg * rg);
  a->yb2_sum += yb2;
  a->yb2_sq += static_cast<uint64_t>(yb2 * yb2);
  return y;
}

// Folds one row of w content pixels in (planar R, G, B rows; the same pointer three times for gray) and
// writes their luminance to luma_out. Sums are kept in 32-bit locals over chunks of kStatsChunk pixels
// (no overflow: 4096 * 510^2 < 2^32) and added to the accumulator once per chunk, so the loop has no
// memory dependencies and vectorises; the histogram, a scatter, is a second loop over luma_out.
constexpr int kStatsChunk = 4096;

YOLO_HD void image_stats_add_row(ImageStatsAccum* a, const uint8_t* r, const uint8_t* g, const uint8_t* b, int w,
                                 uint8_t* luma_out) {
  for (int x0 = 0; x0 < w; x0 += kStatsChunk) {
    const int x1 = w - x0 < kStatsChunk ? w : x0 + kStatsChunk;
    uint32_t s0 = 0, s1 = 0, s2 = 0, q0 = 0, q1 = 0, q2 = 0, ls = 0, lq = 0, rgq = 0, ybq = 0;
    int32_t rgs = 0, ybs = 0;
    for (int x = x0; x < x1; ++x) {
      const uint32_t rv = r[x], gv = g[x], bv = b[x];
      s0 += rv;
      s1 += gv;
      s2 += bv;
      q0 += rv * rv;
      q1 += gv * gv;
      q2 += bv * bv;
      const uint32_t y = (rv * 4899u + gv * 9617u + bv * 1868u + (1u << 13)) >> 14;  // luma_bt601
      ls += y;
      lq += y * y;
      const int32_t rg = static_cast<int32_t>(rv) - static_cast<int32_t>(gv);
      const int32_t yb2 = static_cast<int32_t>(rv + gv) - 2 * static_cast<int32_t>(bv);
      rgs += rg;
      rgq += static_cast<uint32_t>(rg * rg);
      ybs += yb2;
      ybq += static_cast<uint32_t>(yb2 * yb2);
      luma_out[x] = static_cast<uint8_t>(y);
    }
    a->sum[0] += s0;
    a->sum[1] += s1;
    a->sum[2] += s2;
    a->sum_sq[0] += q0;
    a->sum_sq[1] += q1;
    a->sum_sq[2] += q2;
    a->luma_sum += ls;
    a->luma_sq += lq;
    a->rg_sum += rgs;
    a->rg_sq += rgq;
    a->yb2_sum += ybs;
    a->yb2_sq += ybq;
  }
  for (int x = 0; x < w; ++x) a->luma_hist[luma_out[x]] += 1;
  a->pixels += static_cast<uint64_t>(w);
}

// The 3x3 Laplacian at a pixel from its 4-neighbourhood of luminance values.
YOLO_HD int laplacian_3x3(int up, int left, int centre, int right, int down) {
  return up + left + right + down - 4 * centre;
}

// Folds the Laplacian of the interior pixels (x in [1, w - 2]) of the row `mid`, given the rows above and
// below it (luminance, w values each).
YOLO_HD void image_stats_add_laplacian_row(ImageStatsAccum* a, const uint8_t* above, const uint8_t* mid,
                                           const uint8_t* below, int w) {
  int64_t sum = 0;
  uint64_t sq = 0;
  for (int x = 1; x + 1 < w; ++x) {
    const int v = laplacian_3x3(above[x], mid[x - 1], mid[x], mid[x + 1], below[x]);
    sum += v;
    sq += static_cast<uint64_t>(v * v);
  }
  if (w > 2) a->lap_n += static_cast<uint64_t>(w - 2);
  a->lap_sum += sum;
  a->lap_sq += sq;
}

// The accumulator's sums as a flat list of terms (the histogram aside), for reductions that add them one
// by one: the CUDA letterbox kernel sums each term over a thread block, then adds the block's sum to the
// image's with a 64-bit atomic. One pixel's terms are at most 1020^2 (a Laplacian squared), so the sum of
// up to 2048 pixels fits an int32.
constexpr int kTermPixels = 0;
constexpr int kTermSum = 1;    // + c: R, G, B
constexpr int kTermSumSq = 4;  // + c
constexpr int kTermLumaSum = 7;
constexpr int kTermLumaSq = 8;
constexpr int kTermRgSum = 9;
constexpr int kTermRgSq = 10;
constexpr int kTermYb2Sum = 11;
constexpr int kTermYb2Sq = 12;
constexpr int kTermLapN = 13;
constexpr int kTermLapSum = 14;
constexpr int kTermLapSq = 15;
constexpr int kImageStatsTerms = 16;

// Writes one content pixel's terms kTermPixels .. kTermYb2Sq (what image_stats_add_pixel adds) and
// returns its luminance; the Laplacian terms are left alone.
YOLO_HD uint8_t image_stats_pixel_terms(int r, int g, int b, int32_t* t) {
  t[kTermPixels] = 1;
  t[kTermSum + 0] = r;
  t[kTermSum + 1] = g;
  t[kTermSum + 2] = b;
  t[kTermSumSq + 0] = r * r;
  t[kTermSumSq + 1] = g * g;
  t[kTermSumSq + 2] = b * b;
  const uint8_t y = luma_bt601(r, g, b);
  t[kTermLumaSum] = y;
  t[kTermLumaSq] = static_cast<int32_t>(y) * y;
  const int rg = r - g;
  const int yb2 = r + g - 2 * b;
  t[kTermRgSum] = rg;
  t[kTermRgSq] = rg * rg;
  t[kTermYb2Sum] = yb2;
  t[kTermYb2Sq] = yb2 * yb2;
  return y;
}

// Writes the terms of one Laplacian sample (what image_stats_add_laplacian_row adds per pixel).
YOLO_HD void image_stats_laplacian_terms(int lap, int32_t* t) {
  t[kTermLapN] = 1;
  t[kTermLapSum] = lap;
  t[kTermLapSq] = lap * lap;
}

// Adds summed terms and a luminance histogram to an accumulator. Each term is the sum modulo 2^64 (what
// unsigned 64-bit atomics leave), so the signed sums come back by two's complement.
YOLO_HD void image_stats_add_terms(ImageStatsAccum* a, const uint64_t* terms, const uint32_t* hist) {
  a->pixels += terms[kTermPixels];
  for (int c = 0; c < 3; ++c) {
    a->sum[c] += terms[kTermSum + c];
    a->sum_sq[c] += terms[kTermSumSq + c];
  }
  a->luma_sum += terms[kTermLumaSum];
  a->luma_sq += terms[kTermLumaSq];
  a->rg_sum += static_cast<int64_t>(terms[kTermRgSum]);
  a->rg_sq += terms[kTermRgSq];
  a->yb2_sum += static_cast<int64_t>(terms[kTermYb2Sum]);
  a->yb2_sq += terms[kTermYb2Sq];
  a->lap_n += terms[kTermLapN];
  a->lap_sum += static_cast<int64_t>(terms[kTermLapSum]);
  a->lap_sq += terms[kTermLapSq];
  for (int i = 0; i < kLumaBins; ++i) a->luma_hist[i] += hist[i];
}

YOLO_HD void image_stats_merge(ImageStatsAccum* into, const ImageStatsAccum* from) {
  into->pixels += from->pixels;
  for (int c = 0; c < 3; ++c) {
    into->sum[c] += from->sum[c];
    into->sum_sq[c] += from->sum_sq[c];
  }
  into->luma_sum += from->luma_sum;
  into->luma_sq += from->luma_sq;
  into->rg_sum += from->rg_sum;
  into->rg_sq += from->rg_sq;
  into->yb2_sum += from->yb2_sum;
  into->yb2_sq += from->yb2_sq;
  into->lap_n += from->lap_n;
  into->lap_sum += from->lap_sum;
  into->lap_sq += from->lap_sq;
  for (int i = 0; i < kLumaBins; ++i) into->luma_hist[i] += from->luma_hist[i];
}

// Mean and population variance from integer sums (variance clamped at 0 against rounding).
YOLO_HD void moments(double n, double sum, double sum_sq, double* mean, double* var) {
  *mean = sum / n;
  const double v = sum_sq / n - *mean * *mean;
  *var = v > 0.0 ? v : 0.0;
}

// Smallest luminance whose cumulative count reaches fraction p of the pixels.
YOLO_HD int luma_percentile(const ImageStatsAccum* a, double p) {
  const double target = p * static_cast<double>(a->pixels);
  uint64_t cumulative = 0;
  for (int v = 0; v < kLumaBins; ++v) {
    cumulative += a->luma_hist[v];
    if (static_cast<double>(cumulative) >= target) return v;
  }
  return kLumaBins - 1;
}

// Writes the kImageStatsCount features (see the header comment); all zeros for an empty accumulator.
YOLO_HD void image_stats_finish(const ImageStatsAccum* a, double* out) {
  for (int i = 0; i < kImageStatsCount; ++i) out[i] = 0.0;
  if (a->pixels == 0) return;
  const double n = static_cast<double>(a->pixels);
  double mean, var;
  for (int c = 0; c < 3; ++c) {
    moments(n, static_cast<double>(a->sum[c]), static_cast<double>(a->sum_sq[c]), &mean, &var);
    out[c] = mean;
    out[3 + c] = sqrt(var);
  }
  moments(n, static_cast<double>(a->luma_sum), static_cast<double>(a->luma_sq), &mean, &var);
  out[6] = mean;
  out[7] = sqrt(var);
  out[8] = static_cast<double>(luma_percentile(a, 0.95) - luma_percentile(a, 0.05));
  if (a->lap_n > 0) {
    moments(static_cast<double>(a->lap_n), static_cast<double>(a->lap_sum), static_cast<double>(a->lap_sq), &mean,
            &var);
    out[9] = var;
  }
  double rg_mean, rg_var, yb_mean, yb_var;
  moments(n, static_cast<double>(a->rg_sum), static_cast<double>(a->rg_sq), &rg_mean, &rg_var);
  moments(n, static_cast<double>(a->yb2_sum) / 2.0, static_cast<double>(a->yb2_sq) / 4.0, &yb_mean, &yb_var);
  out[10] = sqrt(rg_var + yb_var) + 0.3 * sqrt(rg_mean * rg_mean + yb_mean * yb_mean);
}

}  // namespace yolo
