// Pixel formats of the 8-bit inputs and the conversions of letterboxed bytes into network input values.
//
// The network always sees planar RGB. Inputs may be RGB, BGR, RGBA, BGRA (alpha is dropped) or gray; gray
// is replicated to three channels before the resize, as OpenCV's imread gives Ultralytics a 3-channel BGR
// image for a gray JPEG (resizing each channel separately gives the same bytes anyway).
#pragma once

#include <stdint.h>
#if !defined(__CUDA_ARCH__)
#include <string.h>
#endif

#include "hd.h"

namespace yolo {

// Numeric values are part of the addon's internal ABI with native/cuda: keep them stable.
enum class PixelFormat : int { kRGB = 0, kBGR = 1, kRGBA = 2, kBGRA = 3, kGray = 4 };

// Bytes per pixel of a format.
YOLO_HD constexpr int pixel_channels(PixelFormat f) {
  switch (f) {
    case PixelFormat::kRGB:
    case PixelFormat::kBGR:
      return 3;
    case PixelFormat::kRGBA:
    case PixelFormat::kBGRA:
      return 4;
    default:
      return 1;
  }
}

// Byte offset, inside one pixel, of output channel c (0 = R, 1 = G, 2 = B). Gray answers 0 for all three.
YOLO_HD constexpr int rgb_channel_offset(PixelFormat f, int c) {
  switch (f) {
    case PixelFormat::kRGB:
    case PixelFormat::kRGBA:
      return c;
    case PixelFormat::kBGR:
    case PixelFormat::kBGRA:
      return 2 - c;
    default:
      return 0;
  }
}

// Channel c (0 = R, 1 = G, 2 = B) of the pixel starting at `pixel`.
YOLO_HD uint8_t fetch_rgb(const uint8_t* pixel, PixelFormat f, int c) { return pixel[rgb_channel_offset(f, c)]; }

// The letterbox border value (all three channels).
constexpr uint8_t kLetterboxPad = 114;

// Network input value of a byte: v / 255.0f. A true float division (Ultralytics divides a float32 tensor
// by 255): multiplying by 1/255 differs in the last bit for some bytes.
YOLO_HD float normalize_u8(uint8_t v) { return static_cast<float>(v) / 255.0f; }

// IEEE-754 binary16 bits of a float, rounded to nearest even (what __float2half_rn and numpy do).
// Overflow gives infinity, NaN stays NaN (quiet), tiny values become subnormal or signed zero.
YOLO_HD uint16_t float_to_half_bits(float value) {
#if defined(__CUDA_ARCH__)
  const uint32_t x = __float_as_uint(value);
#else
  uint32_t x;
  memcpy(&x, &value, sizeof(x));
#endif
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t a = x & 0x7fffffffu;
  if (a >= 0x7f800000u) {  // Inf or NaN
    return static_cast<uint16_t>(sign | 0x7c00u | (a > 0x7f800000u ? (0x200u | ((a >> 13) & 0x3ffu)) : 0u));
  }
  if (a >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // >= 65520 rounds to Inf
  if (a >= 0x38800000u) {                                              // normal half (>= 2^-14)
    uint32_t h = (a - 0x38000000u) >> 13;                              // rebias exponent 127 -> 15
    const uint32_t rest = a & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u) != 0u)) ++h;  // may carry into the exponent: fine
    return static_cast<uint16_t>(sign | h);
  }
  if (a < 0x33000000u) return static_cast<uint16_t>(sign);  // <= 2^-25 rounds to zero (tie goes to even 0)
  // Subnormal half: value = m * 2^-24 with m = mantissa >> (126 - exponent).
  const uint32_t e = a >> 23;
  const uint32_t mant = (a & 0x7fffffu) | 0x800000u;
  const uint32_t shift = 126u - e;  // 14..24
  uint32_t h = mant >> shift;
  const uint32_t rest = mant & ((1u << shift) - 1u);
  const uint32_t half = 1u << (shift - 1u);
  if (rest > half || (rest == half && (h & 1u) != 0u)) ++h;
  return static_cast<uint16_t>(sign | h);
}

// Half bits of a byte's network value: float_to_half_bits(v / 255.0f).
YOLO_HD uint16_t normalize_u8_half(uint8_t v) { return float_to_half_bits(normalize_u8(v)); }

}  // namespace yolo
