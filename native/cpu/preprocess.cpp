// CPU letterbox pipeline. Per image a plan (geometry, resize mode, column/row tap tables) is computed
// once; output rows are then produced in bands (one band per image, or several per image when there
// are more threads than images). Every arithmetic step is a native/core function shared with CUDA.
//
// Linear resize follows OpenCV's structure: the horizontal pass runs once per needed source row (a
// two-row cache plays the role of OpenCV's ring buffer; source rows are monotonic in the output row),
// storing D >> 4 as int16 (all the vertical pass reads), then the vertical pass blends two such rows.
#include "preprocess.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "../core/error.h"
#include "../core/resize_linear.h"
#include "parallel.h"

namespace yolo::cpu {
namespace {

enum class ResizeMode { kCopy, kArea2x, kLinear };

// Horizontal tap with the source pixel positions turned into byte offsets within a row.
struct ColumnTap {
  int32_t o0;
  int32_t o1;
  int32_t w0;
  int32_t w1;
};

struct ImagePlan {
  LetterboxGeometry geometry{};
  ResizeMode mode = ResizeMode::kCopy;
  std::vector<ColumnTap> cols;  // linear mode only
  std::vector<ResizeTap> rows;  // linear mode only
};

ImagePlan make_plan(const ImageView& img, int dst_w, int dst_h) {
  ImagePlan plan;
  const LetterboxGeometry g = letterbox_geometry(img.width, img.height, dst_w, dst_h);
  plan.geometry = g;
  if (!letterbox_needs_resize(img.width, img.height, g)) {
    plan.mode = ResizeMode::kCopy;
  } else if (resize_uses_area2x(img.width, img.height, g.new_w, g.new_h)) {
    plan.mode = ResizeMode::kArea2x;
  } else {
    plan.mode = ResizeMode::kLinear;
    const int cn = pixel_channels(img.format);
    const double scale_x = resize_axis_scale(img.width, g.new_w);
    const double scale_y = resize_axis_scale(img.height, g.new_h);
    plan.cols.resize(static_cast<size_t>(g.new_w));
    for (int dx = 0; dx < g.new_w; ++dx) {
      const ResizeTap t = resize_column_tap(dx, img.width, scale_x);
      plan.cols[static_cast<size_t>(dx)] = ColumnTap{t.i0 * cn, t.i1 * cn, t.w0, t.w1};
    }
    plan.rows.resize(static_cast<size_t>(g.new_h));
    for (int dy = 0; dy < g.new_h; ++dy) plan.rows[static_cast<size_t>(dy)] = resize_row_tap(dy, img.height, scale_y);
  }
  return plan;
}

// The tensor value of each byte, per dtype: v / 255.0f, its half bits, the byte itself. A table lookup
// is bit-identical to computing normalize_u8 per element and much cheaper.
struct ByteTables {
  float f32[256];
  uint16_t f16[256];
  uint8_t u8[256];
  ByteTables() {
    for (int v = 0; v < 256; ++v) {
      f32[v] = normalize_u8(static_cast<uint8_t>(v));
      f16[v] = normalize_u8_half(static_cast<uint8_t>(v));
      u8[v] = static_cast<uint8_t>(v);
    }
  }
};

const ByteTables& byte_tables() {
  static const ByteTables tables;
  return tables;
}

// Channels actually computed: gray needs one plane (replicated on output), colour three.
template <PixelFormat F>
constexpr int kPlanes = F == PixelFormat::kGray ? 1 : 3;

// Produces content rows (resized, planar uint8: kPlanes<F> planes of new_w bytes) of one image.
template <PixelFormat F>
class ContentRows {
 public:
  ContentRows(const ImageView& img, const ImagePlan& plan) : img_(img), plan_(plan) {
    const size_t w = static_cast<size_t>(plan.geometry.new_w);
    if (plan.mode == ResizeMode::kLinear) {
      for (auto& buf : hbuf_) buf.resize(w * kPlanes<F>);
    }
  }

  void produce(int dy, uint8_t* out) {
    switch (plan_.mode) {
      case ResizeMode::kCopy:
        copy_row(dy, out);
        break;
      case ResizeMode::kArea2x:
        area2x_row(dy, out);
        break;
      case ResizeMode::kLinear:
        linear_row(dy, out);
        break;
    }
  }

 private:
  const uint8_t* source_row(int y) const { return img_.data + static_cast<size_t>(y) * img_.stride; }

  void copy_row(int dy, uint8_t* __restrict out) const {
    constexpr int cn = pixel_channels(F);
    const uint8_t* __restrict s = source_row(dy);
    const int w = plan_.geometry.new_w;
    for (int c = 0; c < kPlanes<F>; ++c) {
      const int o = off_[c];
      uint8_t* __restrict d = out + static_cast<size_t>(c) * static_cast<size_t>(w);
      for (int x = 0; x < w; ++x) d[x] = s[x * cn + o];
    }
  }

  void area2x_row(int dy, uint8_t* __restrict out) const {
    constexpr int cn = pixel_channels(F);
    const uint8_t* __restrict r0 = source_row(2 * dy);
    const uint8_t* __restrict r1 = source_row(2 * dy + 1);
    const int w = plan_.geometry.new_w;
    for (int c = 0; c < kPlanes<F>; ++c) {
      const int o = off_[c];
      uint8_t* __restrict d = out + static_cast<size_t>(c) * static_cast<size_t>(w);
      for (int x = 0; x < w; ++x) {
        const int a = 2 * x * cn + o;
        d[x] = area2x_average(r0[a], r0[a + cn], r1[a], r1[a + cn]);
      }
    }
  }

  // Horizontal pass of source row sy into hbuf_[slot] (planar, D >> 4).
  void horizontal(int sy, int slot) {
    const uint8_t* __restrict s = source_row(sy);
    const ColumnTap* __restrict cols = plan_.cols.data();
    const int w = plan_.geometry.new_w;
    int16_t* __restrict d = hbuf_[slot].data();
    if constexpr (kPlanes<F> == 1) {
      for (int x = 0; x < w; ++x) {
        const ColumnTap t = cols[x];
        d[x] = resize_horizontal_shifted(s[t.o0], s[t.o1], t.w0, t.w1);
      }
    } else {
      constexpr int o_r = off_[0], o_g = off_[1], o_b = off_[2];
      int16_t* __restrict dr = d;
      int16_t* __restrict dg = d + w;
      int16_t* __restrict db = d + 2 * w;
      for (int x = 0; x < w; ++x) {
        const ColumnTap t = cols[x];
        const uint8_t* p0 = s + t.o0;
        const uint8_t* p1 = s + t.o1;
        dr[x] = resize_horizontal_shifted(p0[o_r], p1[o_r], t.w0, t.w1);
        dg[x] = resize_horizontal_shifted(p0[o_g], p1[o_g], t.w0, t.w1);
        db[x] = resize_horizontal_shifted(p0[o_b], p1[o_b], t.w0, t.w1);
      }
    }
    key_[slot] = sy;
  }

  // Slot holding the horizontal pass of source row sy, computing it if needed without evicting `keep`.
  int slot_for(int sy, int keep) {
    if (key_[0] == sy) return 0;
    if (key_[1] == sy) return 1;
    const int victim = key_[0] == keep ? 1 : 0;
    horizontal(sy, victim);
    return victim;
  }

  void linear_row(int dy, uint8_t* __restrict out) {
    const ResizeTap t = plan_.rows[static_cast<size_t>(dy)];
    const int s0 = slot_for(t.i0, t.i1);
    const int s1 = slot_for(t.i1, t.i0);
    const int16_t* __restrict h0 = hbuf_[s0].data();
    const int16_t* __restrict h1 = hbuf_[s1].data();
    const int count = plan_.geometry.new_w * kPlanes<F>;
    const int b0 = t.w0, b1 = t.w1;
    for (int i = 0; i < count; ++i) out[i] = resize_vertical_shifted(h0[i], h1[i], b0, b1);
  }

  const ImageView& img_;
  const ImagePlan& plan_;
  // Byte offsets of R, G, B inside a source pixel (compile-time constants per format).
  static constexpr int off_[3] = {rgb_channel_offset(F, 0), rgb_channel_offset(F, 1), rgb_channel_offset(F, 2)};
  std::vector<int16_t> hbuf_[2];
  int key_[2] = {-1, -1};
};

// Content statistics of one band (core/image_stats.h). The band folds in the pixels of its own content
// rows and the Laplacian centred on them, so it also resizes the content row just above and just below
// (luminance only, nothing written): two extra rows per band, no second pass over the image.
template <PixelFormat F>
class BandStats {
 public:
  BandStats(ImageStatsAccum* acc, int w) : acc_(acc), w_(w) {
    for (auto& l : luma_) l.resize(static_cast<size_t>(w));
  }

  // Luminance of a planar content row into ring slot `slot`; folds the pixels in when `count`.
  void add_row(const uint8_t* __restrict row, int content_y, bool count) {
    uint8_t* __restrict l = luma_[static_cast<size_t>(content_y % 3)].data();
    const uint8_t* r = row;
    const uint8_t* g = kPlanes<F> == 1 ? row : row + w_;
    const uint8_t* b = kPlanes<F> == 1 ? row : row + 2 * w_;
    if (count) {
      image_stats_add_row(acc_, r, g, b, w_, l);
    } else {
      for (int x = 0; x < w_; ++x) l[x] = luma_bt601(r[x], g[x], b[x]);
    }
  }

  // Folds the Laplacian centred on content row `centre` (rows centre - 1 .. centre + 1 must be in the ring).
  void add_laplacian(int centre) {
    image_stats_add_laplacian_row(acc_, luma_[static_cast<size_t>((centre + 2) % 3)].data(),
                                  luma_[static_cast<size_t>(centre % 3)].data(),
                                  luma_[static_cast<size_t>((centre + 1) % 3)].data(), w_);
  }

 private:
  ImageStatsAccum* acc_;
  int w_;
  std::vector<uint8_t> luma_[3];
};

// Writes output rows [y_begin, y_end) of one image (3 planes of dst_w x dst_h elements of T), and folds
// the band's content statistics into `stats` when it is not null.
template <PixelFormat F, typename T>
void letterbox_band(const ImageView& img, const ImagePlan& plan, int dst_w, int dst_h, const T* lut, T* out,
                    int y_begin, int y_end, ImageStatsAccum* stats) {
  const LetterboxGeometry& g = plan.geometry;
  const size_t plane = static_cast<size_t>(dst_w) * static_cast<size_t>(dst_h);
  const T pad = lut[kLetterboxPad];
  ContentRows<F> content(img, plan);
  std::vector<uint8_t> row(static_cast<size_t>(g.new_w) * kPlanes<F>);
  const int right = dst_w - g.left - g.new_w;
  // Content rows [c_begin, c_end) belong to this band; Laplacian centres are rows 1 .. new_h - 2.
  const int c_begin = std::max(y_begin, g.top) - g.top;
  const int c_end = std::min(y_end, g.top + g.new_h) - g.top;
  std::unique_ptr<BandStats<F>> band_stats;
  if (stats != nullptr && c_end > c_begin) {
    band_stats = std::make_unique<BandStats<F>>(stats, g.new_w);
    if (c_begin >= 1 && c_begin <= g.new_h - 2) {
      content.produce(c_begin - 1, row.data());
      band_stats->add_row(row.data(), c_begin - 1, false);
    }
  }
  for (int y = y_begin; y < y_end; ++y) {
    const size_t row_start = static_cast<size_t>(y) * static_cast<size_t>(dst_w);
    if (y < g.top || y >= g.top + g.new_h) {
      for (int c = 0; c < 3; ++c) std::fill_n(out + c * plane + row_start, dst_w, pad);
      continue;
    }
    const int cy = y - g.top;
    content.produce(cy, row.data());
    if (band_stats) {
      band_stats->add_row(row.data(), cy, true);
      if (cy - 1 >= c_begin && cy - 1 >= 1) band_stats->add_laplacian(cy - 1);
    }
    for (int c = 0; c < 3; ++c) {
      T* __restrict o = out + c * plane + row_start;
      const uint8_t* __restrict src = row.data() + static_cast<size_t>(kPlanes<F> == 1 ? 0 : c) * g.new_w;
      std::fill_n(o, g.left, pad);
      T* __restrict content_out = o + g.left;
      for (int x = 0; x < g.new_w; ++x) content_out[x] = lut[src[x]];
      std::fill_n(o + g.left + g.new_w, right, pad);
    }
  }
  // The last centre of the band needs the first row of the next band.
  const int last = c_end - 1;
  if (band_stats && last >= 1 && last <= g.new_h - 2) {
    content.produce(c_end, row.data());
    band_stats->add_row(row.data(), c_end, false);
    band_stats->add_laplacian(last);
  }
}

template <typename T>
void letterbox_band_any(const ImageView& img, const ImagePlan& plan, int dst_w, int dst_h, const T* lut, T* out,
                        int y_begin, int y_end, ImageStatsAccum* stats) {
  switch (img.format) {
    case PixelFormat::kRGB:
      return letterbox_band<PixelFormat::kRGB>(img, plan, dst_w, dst_h, lut, out, y_begin, y_end, stats);
    case PixelFormat::kBGR:
      return letterbox_band<PixelFormat::kBGR>(img, plan, dst_w, dst_h, lut, out, y_begin, y_end, stats);
    case PixelFormat::kRGBA:
      return letterbox_band<PixelFormat::kRGBA>(img, plan, dst_w, dst_h, lut, out, y_begin, y_end, stats);
    case PixelFormat::kBGRA:
      return letterbox_band<PixelFormat::kBGRA>(img, plan, dst_w, dst_h, lut, out, y_begin, y_end, stats);
    case PixelFormat::kGray:
      return letterbox_band<PixelFormat::kGray>(img, plan, dst_w, dst_h, lut, out, y_begin, y_end, stats);
  }
  throw Error(code::kInternal, "letterbox: unknown pixel format " + std::to_string(static_cast<int>(img.format)));
}

struct Band {
  size_t image;
  int y_begin;
  int y_end;
};

// One band per image when there are at least as many images as threads; otherwise each image is cut
// into enough row bands to keep every thread busy.
std::vector<Band> make_bands(size_t n, int dst_h, int threads) {
  std::vector<Band> bands;
  const size_t t = static_cast<size_t>(std::max(threads, 1));
  size_t per_image = n >= t ? 1 : (t + n - 1) / n;
  per_image = std::min(per_image, static_cast<size_t>(std::max(dst_h / 16, 1)));  // >= 16 rows a band
  bands.reserve(n * per_image);
  for (size_t i = 0; i < n; ++i) {
    for (size_t b = 0; b < per_image; ++b) {
      const int y0 = static_cast<int>(static_cast<size_t>(dst_h) * b / per_image);
      const int y1 = static_cast<int>(static_cast<size_t>(dst_h) * (b + 1) / per_image);
      if (y1 > y0) bands.push_back(Band{i, y0, y1});
    }
  }
  return bands;
}

}  // namespace

size_t dtype_bytes(TensorDType dtype) {
  switch (dtype) {
    case TensorDType::kFloat32:
      return 4;
    case TensorDType::kFloat16:
      return 2;
    case TensorDType::kUint8:
      return 1;
  }
  return 0;
}

void validate_image(const ImageView& img, size_t index) {
  const std::string which = "image " + std::to_string(index);
  if (img.width <= 0 || img.height <= 0) {
    throw Error(code::kBadImage, which + " has an empty size " + std::to_string(img.width) + "x" +
                                     std::to_string(img.height));
  }
  if (img.data == nullptr) throw Error(code::kBadImage, which + " has no pixel data");
  const size_t row_bytes = static_cast<size_t>(img.width) * static_cast<size_t>(pixel_channels(img.format));
  if (img.stride < row_bytes) {
    throw Error(code::kBadImage, which + ": expected a stride of at least " + std::to_string(row_bytes) +
                                     " bytes (width * channels) but received " + std::to_string(img.stride));
  }
  // stride * (height - 1) + row_bytes, checked for overflow.
  const size_t rows_before_last = static_cast<size_t>(img.height - 1);
  if (rows_before_last != 0 && img.stride > (SIZE_MAX - row_bytes) / rows_before_last) {
    throw Error(code::kBadImage, which + ": stride * height overflows");
  }
  const size_t needed = img.stride * rows_before_last + row_bytes;
  if (img.byte_length < needed) {
    throw Error(code::kBadImage, which + ": expected at least " + std::to_string(needed) + " bytes for " +
                                     std::to_string(img.width) + "x" + std::to_string(img.height) +
                                     " pixels with a stride of " + std::to_string(img.stride) + " but received " +
                                     std::to_string(img.byte_length));
  }
}

void preprocess_batch(const ImageView* images, size_t n, const PreprocessOptions& options, void* out,
                      LetterboxGeometry* geometry_out, double* stats_out) {
  if (options.dst_w <= 0 || options.dst_h <= 0) {
    throw Error(code::kInvalidOption, "preprocess: expected a positive input size but received " +
                                          std::to_string(options.dst_w) + "x" + std::to_string(options.dst_h));
  }
  if (options.threads < 1) {
    throw Error(code::kInvalidOption,
                "preprocess: expected threads >= 1 but received " + std::to_string(options.threads));
  }
  for (size_t i = 0; i < n; ++i) validate_image(images[i], i);

  std::vector<ImagePlan> plans(n);
  for (size_t i = 0; i < n; ++i) {
    plans[i] = make_plan(images[i], options.dst_w, options.dst_h);
    geometry_out[i] = plans[i].geometry;
  }
  const size_t image_elems = 3 * static_cast<size_t>(options.dst_w) * static_cast<size_t>(options.dst_h);
  const std::vector<Band> bands = make_bands(n, options.dst_h, options.threads);
  const ByteTables& tables = byte_tables();
  // One accumulator per band (bands run in parallel), merged per image afterwards.
  std::vector<ImageStatsAccum> band_stats(stats_out != nullptr ? bands.size() : 0);
  for (auto& a : band_stats) image_stats_reset(&a);

  parallel_for(bands.size(), options.threads, [&](size_t b) {
    const Band band = bands[b];
    ImageStatsAccum* stats = stats_out != nullptr ? &band_stats[b] : nullptr;
    const ImageView& img = images[band.image];
    const ImagePlan& plan = plans[band.image];
    const size_t base = band.image * image_elems;
    switch (options.dtype) {
      case TensorDType::kFloat32:
        letterbox_band_any(img, plan, options.dst_w, options.dst_h, tables.f32, static_cast<float*>(out) + base,
                           band.y_begin, band.y_end, stats);
        break;
      case TensorDType::kFloat16:
        letterbox_band_any(img, plan, options.dst_w, options.dst_h, tables.f16,
                           static_cast<uint16_t*>(out) + base, band.y_begin, band.y_end, stats);
        break;
      case TensorDType::kUint8:
        letterbox_band_any(img, plan, options.dst_w, options.dst_h, tables.u8, static_cast<uint8_t*>(out) + base,
                           band.y_begin, band.y_end, stats);
        break;
    }
  });
  if (stats_out == nullptr) return;
  std::vector<ImageStatsAccum> per_image(n);
  for (auto& a : per_image) image_stats_reset(&a);
  for (size_t b = 0; b < bands.size(); ++b) image_stats_merge(&per_image[bands[b].image], &band_stats[b]);
  for (size_t i = 0; i < n; ++i) image_stats_finish(&per_image[i], stats_out + i * kImageStatsCount);
}

}  // namespace yolo::cpu
