// The whole GPU pipeline (staging upload, letterbox into the engine's input, fake inference, decode/NMS,
// download): every pixel format with padded strides, and batches of mixed sizes and formats in one
// launch. The engine's input tensor is read back and compared with the CPU letterbox, the detections
// with the CPU postprocess.
#include <string>
#include <vector>

#include "support.h"

namespace yolo::gpu_cases {
namespace {

struct Shape {
  int w;
  int h;
};

// Runs images through GpuPipeline::detect with the recorded outputs of images[i % 10] as the network's
// result; compares input tensor and detections with the CPU path.
std::string run_pipeline(const Paths& paths, const std::vector<OwnedImage>& images, cuda::ElementType input_type,
                         const cuda::PostParams& params) {
  const RecordedOutputs& rec = recorded_outputs(paths);
  const int n = static_cast<int>(images.size());
  const size_t per_image = static_cast<size_t>(rec.channels) * static_cast<size_t>(rec.anchors);
  std::vector<float> raw;
  std::vector<cuda::HostImage> views;
  std::vector<int32_t> sizes;
  for (int i = 0; i < n; ++i) {
    const std::vector<float>& r = rec.raw[static_cast<size_t>(i) % rec.raw.size()];
    raw.insert(raw.end(), r.begin(), r.end());
    views.push_back(images[static_cast<size_t>(i)].view);
    sizes.push_back(views.back().width);
    sizes.push_back(views.back().height);
  }
  cuda::PipelineConfig pc;
  pc.max_batch = n;
  pc.input_w = 640;
  pc.input_h = 640;
  pc.input_type = input_type;
  pc.channels = rec.channels;
  pc.anchors = rec.anchors;
  cuda::GpuPipeline pipeline(pc);
  const size_t input_bytes = 3 * 640 * 640 * static_cast<size_t>(cuda::element_bytes(input_type));
  FakeInference step(raw.data(), per_image * sizeof(float), input_bytes);
  cuda::StageTimes times;
  const std::vector<cuda::Rows> gpu = pipeline.detect(views.data(), n, params, step, &times);
  const std::vector<uint8_t> tensor = cpu_letterbox(views.data(), n, 640, 640, input_type, nullptr);
  std::string diff = compare_bytes("engine input", step.input().data(), step.input().size(), tensor.data(), tensor.size());
  if (!diff.empty()) return diff;
  return compare_rows(gpu, cpu_postprocess(raw.data(), n, rec.channels, rec.anchors, 640, 640, sizes, params));
}

}  // namespace

void register_pipeline_cases(const Paths& paths) {
  for (const auto& f : kAllFormats) {
    for (int k = 0; k < 4; ++k) {
      const PixelFormat format = f.format;
      const Shape s{kResizeModeSources[k].w, kResizeModeSources[k].h};
      const int pad = kResizeModeSources[k].pad;
      add_case("pipeline: formats and strides",
               std::string(f.name) + " " + std::to_string(s.w) + "x" + std::to_string(s.h) + " stride+" +
                   std::to_string(pad),
               [=, &paths]() {
                 std::vector<OwnedImage> images;
                 images.push_back(make_image(s.w, s.h, format, pad, static_cast<uint32_t>(k + 1)));
                 return run_pipeline(paths, images, k % 2 == 0 ? cuda::ElementType::kFloat32 : cuda::ElementType::kFloat16,
                                     cuda::PostParams{});
               });
    }
  }

  // Mixed batches: sizes, formats and strides differ inside one launch.
  struct Item {
    Shape s;
    PixelFormat f;
    int pad;
  };
  const std::vector<std::vector<Item>> batches = {
      {{{810, 1080}, PixelFormat::kRGB, 0}, {{1280, 720}, PixelFormat::kBGR, 3}},
      {{{640, 640}, PixelFormat::kRGB, 0}, {{1280, 1280}, PixelFormat::kRGBA, 0}, {{33, 17}, PixelFormat::kGray, 5}},
      {{{1, 1}, PixelFormat::kBGR, 0}, {{2, 3}, PixelFormat::kRGB, 1}, {{3, 2}, PixelFormat::kBGRA, 2},
       {{640, 480}, PixelFormat::kGray, 0}},
      {{{481, 640}, PixelFormat::kRGB, 7}, {{640, 426}, PixelFormat::kBGR, 0}, {{381, 500}, PixelFormat::kRGBA, 4},
       {{640, 488}, PixelFormat::kGray, 9}, {{1920, 1080}, PixelFormat::kBGRA, 0}},
      {{{320, 320}, PixelFormat::kRGB, 0}, {{320, 320}, PixelFormat::kRGB, 0}, {{160, 120}, PixelFormat::kBGR, 2},
       {{1000, 751}, PixelFormat::kRGB, 0}, {{97, 61}, PixelFormat::kGray, 0}, {{1280, 960}, PixelFormat::kBGR, 1}},
      {{{640, 478}, PixelFormat::kRGB, 0}, {{640, 425}, PixelFormat::kRGB, 0}, {{640, 428}, PixelFormat::kRGB, 0},
       {{810, 1080}, PixelFormat::kBGR, 0}, {{1280, 720}, PixelFormat::kBGR, 0}, {{641, 480}, PixelFormat::kRGBA, 0},
       {{150, 101}, PixelFormat::kGray, 0}, {{1280, 853}, PixelFormat::kBGRA, 11}},
  };
  for (size_t b = 0; b < batches.size(); ++b) {
    const std::vector<Item> items = batches[b];
    std::string name = "batch of " + std::to_string(items.size()) + ":";
    for (const Item& it : items) name += " " + std::to_string(it.s.w) + "x" + std::to_string(it.s.h);
    add_case("pipeline: mixed batches", name, [=, &paths]() {
      std::vector<OwnedImage> images;
      for (size_t i = 0; i < items.size(); ++i)
        images.push_back(make_image(items[i].s.w, items[i].s.h, items[i].f, items[i].pad, static_cast<uint32_t>(b * 16 + i)));
      return run_pipeline(paths, images, b % 2 == 0 ? cuda::ElementType::kFloat32 : cuda::ElementType::kFloat16,
                          cuda::PostParams{});
    });
  }
}

}  // namespace yolo::gpu_cases
