// Drift-monitoring content statistics measured inside the letterbox kernel (core/image_stats.h): per
// image, the GPU's integer accumulator must equal, field by field, one built from the CPU letterbox's
// resized content with the plain per-pixel functions (image_stats_add_pixel, image_stats_add_laplacian_row),
// and the finished values must equal the CPU pipeline's (cpu::preprocess_batch, several row bands) bit for
// bit. Cases: every pixel format and resize mode with padded strides, padding on either axis or none,
// odd target sizes that cut thread blocks, tiny images, 1- and 2-pixel-wide or -high content (no
// Laplacian samples), batches of mixed images in one launch, and GpuPipeline::detect's stats output.
#include <cstring>
#include <string>
#include <vector>

#include "core/image_stats.h"
#include "support.h"

namespace yolo::gpu_cases {
namespace {

struct Shape {
  int w;
  int h;
};

struct Item {
  Shape s;
  PixelFormat f;
  int pad;
};

// The accumulator of one image's content, from the CPU's uint8 letterbox ([3, dst_h, dst_w]).
ImageStatsAccum reference_accum(const uint8_t* tensor, int dst_w, int dst_h, const LetterboxGeometry& g) {
  ImageStatsAccum a;
  image_stats_reset(&a);
  const size_t plane = static_cast<size_t>(dst_w) * static_cast<size_t>(dst_h);
  std::vector<uint8_t> luma(static_cast<size_t>(g.new_w) * static_cast<size_t>(g.new_h));
  for (int y = 0; y < g.new_h; ++y) {
    for (int x = 0; x < g.new_w; ++x) {
      const size_t i =
          static_cast<size_t>(g.top + y) * static_cast<size_t>(dst_w) + static_cast<size_t>(g.left + x);
      luma[static_cast<size_t>(y) * static_cast<size_t>(g.new_w) + static_cast<size_t>(x)] =
          image_stats_add_pixel(&a, tensor[i], tensor[plane + i], tensor[2 * plane + i]);
    }
  }
  for (int y = 1; y + 1 < g.new_h; ++y) {
    const uint8_t* mid = luma.data() + static_cast<size_t>(y) * static_cast<size_t>(g.new_w);
    image_stats_add_laplacian_row(&a, mid - g.new_w, mid, mid + g.new_w, g.new_w);
  }
  return a;
}

std::string compare_accum(const ImageStatsAccum& gpu, const ImageStatsAccum& ref) {
  const auto field = [](const char* name, long double a, long double b) -> std::string {
    if (a == b) return "";
    return std::string(name) + ": GPU " + std::to_string(a) + " vs CPU " + std::to_string(b);
  };
  std::string d;
  const auto check = [&d](const std::string& r) {
    if (d.empty()) d = r;
  };
  check(field("pixels", gpu.pixels, ref.pixels));
  for (int c = 0; c < 3; ++c) {
    check(field("sum", gpu.sum[c], ref.sum[c]));
    check(field("sum_sq", gpu.sum_sq[c], ref.sum_sq[c]));
  }
  check(field("luma_sum", gpu.luma_sum, ref.luma_sum));
  check(field("luma_sq", gpu.luma_sq, ref.luma_sq));
  check(field("rg_sum", gpu.rg_sum, ref.rg_sum));
  check(field("rg_sq", gpu.rg_sq, ref.rg_sq));
  check(field("yb2_sum", gpu.yb2_sum, ref.yb2_sum));
  check(field("yb2_sq", gpu.yb2_sq, ref.yb2_sq));
  check(field("lap_n", gpu.lap_n, ref.lap_n));
  check(field("lap_sum", gpu.lap_sum, ref.lap_sum));
  check(field("lap_sq", gpu.lap_sq, ref.lap_sq));
  for (int v = 0; v < kLumaBins && d.empty(); ++v) {
    check(field(("luma_hist[" + std::to_string(v) + "]").c_str(), gpu.luma_hist[v], ref.luma_hist[v]));
  }
  return d;
}

// The counts a content of new_w x new_h must give (so an all-zero accumulator on both sides fails).
std::string check_counts(const ImageStatsAccum& a, const LetterboxGeometry& g) {
  const uint64_t pixels = static_cast<uint64_t>(g.new_w) * static_cast<uint64_t>(g.new_h);
  const uint64_t lap = g.new_w > 2 && g.new_h > 2 ? static_cast<uint64_t>(g.new_w - 2) * (g.new_h - 2) : 0;
  if (a.pixels != pixels) {
    return "pixels " + std::to_string(a.pixels) + ", expected " + std::to_string(pixels);
  }
  if (a.lap_n != lap) return "lap_n " + std::to_string(a.lap_n) + ", expected " + std::to_string(lap);
  return "";
}

// Letterbox with statistics on the GPU (twice on one pipeline: the accumulators must start from zero
// each call), against the CPU path.
std::string run_letterbox(const std::vector<OwnedImage>& images, int dst_w, int dst_h,
                          cuda::ElementType type) {
  const int n = static_cast<int>(images.size());
  std::vector<cuda::HostImage> views;
  for (const OwnedImage& img : images) views.push_back(img.view);
  cuda::PipelineConfig pc;
  pc.input_w = dst_w;
  pc.input_h = dst_h;
  pc.max_batch = n;
  cuda::GpuPipeline pipeline(pc);
  const size_t image_elems = 3 * static_cast<size_t>(dst_w) * static_cast<size_t>(dst_h);
  const size_t elem_bytes = static_cast<size_t>(cuda::element_bytes(type));
  std::vector<uint8_t> gpu(static_cast<size_t>(n) * image_elems * elem_bytes);
  std::vector<LetterboxGeometry> gg(static_cast<size_t>(n));
  std::vector<ImageStatsAccum> acc(static_cast<size_t>(n));
  for (int run = 0; run < 2; ++run) {
    pipeline.letterbox_to_host(views.data(), n, type, gpu.data(), gg.data(), acc.data());
  }

  std::vector<LetterboxGeometry> cg;
  std::vector<double> cpu_stats;
  const std::vector<uint8_t> cpu = cpu_letterbox(views.data(), n, dst_w, dst_h, type, &cg, &cpu_stats, 3);
  std::string diff = compare_bytes("tensor", gpu.data(), gpu.size(), cpu.data(), cpu.size());
  if (!diff.empty()) return diff;
  const std::vector<uint8_t> bytes =
      cpu_letterbox(views.data(), n, dst_w, dst_h, cuda::ElementType::kUint8, nullptr);
  std::vector<double> gpu_stats(static_cast<size_t>(n) * kImageStatsCount);
  for (int i = 0; i < n; ++i) {
    const size_t k = static_cast<size_t>(i);
    const std::string which = "image " + std::to_string(i) + ": ";
    const ImageStatsAccum ref = reference_accum(bytes.data() + k * image_elems, dst_w, dst_h, cg[k]);
    diff = check_counts(ref, cg[k]);
    if (diff.empty()) diff = compare_accum(acc[k], ref);
    if (!diff.empty()) return which + diff;
    image_stats_finish(&acc[k], gpu_stats.data() + k * kImageStatsCount);
  }
  return compare_bytes("finished statistics", gpu_stats.data(), gpu_stats.size() * sizeof(double),
                       cpu_stats.data(), cpu_stats.size() * sizeof(double));
}

std::vector<OwnedImage> make_images(const std::vector<Item>& items, uint32_t seed) {
  std::vector<OwnedImage> images;
  for (size_t i = 0; i < items.size(); ++i) {
    const Item& it = items[i];
    images.push_back(make_image(it.s.w, it.s.h, it.f, it.pad, seed + static_cast<uint32_t>(i)));
  }
  return images;
}

std::string shape_name(const std::vector<Item>& items) {
  std::string name;
  for (const Item& it : items) {
    name += (name.empty() ? "" : " ") + std::to_string(it.s.w) + "x" + std::to_string(it.s.h);
  }
  return name;
}

// GpuPipeline::detect with stats_out (the TensorRT backend's path): the values equal preprocess_batch's,
// and the detections are those of a call without statistics.
std::string run_detect(const Paths& paths, const std::vector<OwnedImage>& images) {
  const RecordedOutputs& rec = recorded_outputs(paths);
  const int n = static_cast<int>(images.size());
  std::vector<float> raw;
  std::vector<cuda::HostImage> views;
  for (int i = 0; i < n; ++i) {
    const std::vector<float>& r = rec.raw[static_cast<size_t>(i) % rec.raw.size()];
    raw.insert(raw.end(), r.begin(), r.end());
    views.push_back(images[static_cast<size_t>(i)].view);
  }
  cuda::PipelineConfig pc;
  pc.max_batch = n;
  pc.channels = rec.channels;
  pc.anchors = rec.anchors;
  cuda::GpuPipeline pipeline(pc);
  const size_t per_image =
      static_cast<size_t>(rec.channels) * static_cast<size_t>(rec.anchors) * sizeof(float);
  FakeInference step(raw.data(), per_image, 3 * 640 * 640 * sizeof(float));
  std::vector<double> gpu_stats(static_cast<size_t>(n) * kImageStatsCount, -1.0);
  const std::vector<cuda::Rows> with =
      pipeline.detect(views.data(), n, cuda::PostParams{}, step, nullptr, gpu_stats.data());
  const std::vector<cuda::Rows> without = pipeline.detect(views.data(), n, cuda::PostParams{}, step, nullptr);
  std::string diff = compare_rows(with, without);
  if (!diff.empty()) return "detections with statistics: " + diff;
  std::vector<double> cpu_stats;
  (void)cpu_letterbox(views.data(), n, 640, 640, cuda::ElementType::kFloat32, nullptr, &cpu_stats, 2);
  return compare_bytes("statistics", gpu_stats.data(), gpu_stats.size() * sizeof(double), cpu_stats.data(),
                       cpu_stats.size() * sizeof(double));
}

}  // namespace

void register_image_stats_cases(const Paths& paths) {
  for (const auto& f : kAllFormats) {
    for (int k = 0; k < 4; ++k) {
      const ResizeModeSource& src = kResizeModeSources[k];
      const Item item{{src.w, src.h}, f.format, src.pad};
      const cuda::ElementType type = k % 2 == 0 ? cuda::ElementType::kFloat32 : cuda::ElementType::kFloat16;
      add_case("image statistics: formats and resize modes",
               std::string(f.name) + " " + shape_name({item}) + " stride+" + std::to_string(item.pad),
               [=]() {
                 return run_letterbox(make_images({item}, static_cast<uint32_t>(40 + k)), 640, 640, type);
               });
    }
  }

  // Target sizes that are not multiples of the 32 x 8 thread block, tiny images and slivers of content.
  const struct {
    Item item;
    Shape dst;
  } edges[] = {
      {{{97, 61}, PixelFormat::kRGB, 3}, {100, 37}},     // odd target (both axes cut blocks), padding left/right
      {{{61, 97}, PixelFormat::kBGR, 0}, {37, 100}},     // odd target, padding top/bottom
      {{{1, 1}, PixelFormat::kRGB, 0}, {640, 640}},      // one pixel scaled up to the whole input
      {{{1, 1}, PixelFormat::kGray, 0}, {33, 17}},       // content 17 x 17, padding left/right
      {{{2, 3}, PixelFormat::kRGBA, 1}, {640, 640}},     // tiny, linear up
      {{{1, 1000}, PixelFormat::kRGB, 0}, {640, 640}},   // content 1 pixel wide: no Laplacian samples
      {{{1000, 1}, PixelFormat::kBGR, 2}, {640, 640}},   // content 1 pixel high
      {{{2, 1000}, PixelFormat::kRGB, 0}, {640, 640}},   // content 1 wide (1.28 rounds down)
      {{{3, 1000}, PixelFormat::kGray, 0}, {640, 640}},  // content 2 wide: still no interior
      {{{5, 1000}, PixelFormat::kRGB, 5}, {640, 640}},   // content 3 wide: one interior column
      {{{1000, 5}, PixelFormat::kBGRA, 0}, {640, 640}},  // one interior row
      {{{640, 640}, PixelFormat::kRGB, 0}, {640, 640}},  // copy, no padding at all
      {{{33, 9}, PixelFormat::kRGB, 0}, {33, 9}},        // copy into a target of one block and a sliver
      {{{7, 5}, PixelFormat::kBGR, 0}, {1, 1}},          // the whole input is one pixel
  };
  for (size_t e = 0; e < sizeof(edges) / sizeof(edges[0]); ++e) {
    const Item item = edges[e].item;
    const Shape dst = edges[e].dst;
    add_case("image statistics: sizes and slivers",
             shape_name({item}) + " -> " + std::to_string(dst.w) + "x" + std::to_string(dst.h),
             [=]() {
               return run_letterbox(make_images({item}, static_cast<uint32_t>(60 + e)), dst.w, dst.h,
                                    cuda::ElementType::kUint8);
             });
  }

  // Several images of different sizes, formats and padding in one launch.
  const std::vector<std::vector<Item>> batches = {
      {{{810, 1080}, PixelFormat::kRGB, 0}, {{1280, 720}, PixelFormat::kBGR, 3}},
      {{{1, 1}, PixelFormat::kBGR, 0}, {{2, 3}, PixelFormat::kRGB, 1}, {{3, 1000}, PixelFormat::kBGRA, 2},
       {{640, 480}, PixelFormat::kGray, 0}, {{1920, 1080}, PixelFormat::kRGBA, 0}},
      {{{320, 320}, PixelFormat::kRGB, 0},
       {{320, 320}, PixelFormat::kRGB, 0},
       {{160, 120}, PixelFormat::kBGR, 2},
       {{1000, 751}, PixelFormat::kRGB, 0},
       {{97, 61}, PixelFormat::kGray, 0},
       {{1280, 960}, PixelFormat::kBGR, 1}},
  };
  for (size_t b = 0; b < batches.size(); ++b) {
    const std::vector<Item> items = batches[b];
    const cuda::ElementType type = b % 2 == 0 ? cuda::ElementType::kFloat32 : cuda::ElementType::kFloat16;
    add_case("image statistics: batches",
             "batch of " + std::to_string(items.size()) + ": " + shape_name(items),
             [=]() {
               return run_letterbox(make_images(items, static_cast<uint32_t>(80 + 16 * b)), 640, 640, type);
             });
  }

  const std::vector<Item> detect_items = {{{810, 1080}, PixelFormat::kRGB, 0},
                                          {{1280, 720}, PixelFormat::kBGR, 2},
                                          {{33, 17}, PixelFormat::kGray, 0}};
  add_case("image statistics: detect", "batch of 3: " + shape_name(detect_items),
           [=, &paths]() { return run_detect(paths, make_images(detect_items, 120)); });
}

}  // namespace yolo::gpu_cases
