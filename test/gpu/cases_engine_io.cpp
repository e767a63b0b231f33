// Engines with float16 inputs and/or outputs, and detect_tensor (a host-letterboxed float32 tensor
// converted on the device): the engine's input tensor as read back, and the detections, equal the CPU
// path's (float16 outputs are compared with the CPU postprocess of the same values widened).
#include <string>
#include <vector>

#include "support.h"

namespace yolo::gpu_cases {
namespace {

std::string run(const Paths& paths, int n, cuda::ElementType input_type, cuda::ElementType output_type,
                bool tensor_input) {
  const RecordedOutputs& rec = recorded_outputs(paths);
  const size_t per_image = static_cast<size_t>(rec.channels) * static_cast<size_t>(rec.anchors);
  std::vector<float> raw;
  std::vector<OwnedImage> images;
  std::vector<cuda::HostImage> views;
  std::vector<int32_t> sizes;
  for (int i = 0; i < n; ++i) {
    const size_t k = static_cast<size_t>(i) % rec.raw.size();
    raw.insert(raw.end(), rec.raw[k].begin(), rec.raw[k].end());
    images.push_back(make_image(rec.sizes[2 * k], rec.sizes[2 * k + 1], i % 2 ? PixelFormat::kBGR : PixelFormat::kRGB,
                                i, static_cast<uint32_t>(100 + i)));
    views.push_back(images.back().view);
    if (tensor_input) {
      sizes.insert(sizes.end(), {640, 640});
    } else {
      sizes.insert(sizes.end(), {views.back().width, views.back().height});
    }
  }
  std::vector<uint16_t> half;
  std::vector<float> reference_raw = raw;
  const void* engine_out = raw.data();
  size_t out_bytes = per_image * sizeof(float);
  if (output_type == cuda::ElementType::kFloat16) {
    half = to_half(raw);
    reference_raw = widen_half(half);
    engine_out = half.data();
    out_bytes = per_image * sizeof(uint16_t);
  }
  cuda::PipelineConfig pc;
  pc.max_batch = n;
  pc.input_type = input_type;
  pc.output_type = output_type;
  pc.channels = rec.channels;
  pc.anchors = rec.anchors;
  cuda::GpuPipeline pipeline(pc);
  FakeInference step(engine_out, out_bytes, 3 * 640 * 640 * static_cast<size_t>(cuda::element_bytes(input_type)));
  const cuda::PostParams params;
  std::vector<cuda::Rows> gpu;
  if (tensor_input) {
    const std::vector<uint8_t> f32 = cpu_letterbox(views.data(), n, 640, 640, cuda::ElementType::kFloat32, nullptr);
    gpu = pipeline.detect_tensor(reinterpret_cast<const float*>(f32.data()), n, params, step, nullptr);
  } else {
    gpu = pipeline.detect(views.data(), n, params, step, nullptr);
  }
  const std::vector<uint8_t> tensor = cpu_letterbox(views.data(), n, 640, 640, input_type, nullptr);
  const std::string diff =
      compare_bytes("engine input", step.input().data(), step.input().size(), tensor.data(), tensor.size());
  if (!diff.empty()) return diff;
  return compare_rows(gpu, cpu_postprocess(reference_raw.data(), n, rec.channels, rec.anchors, 640, 640, sizes, params));
}

}  // namespace

void register_engine_io_cases(const Paths& paths) {
  using T = cuda::ElementType;
  const struct {
    const char* name;
    int n;
    T in;
    T out;
    bool tensor;
  } cases[] = {
      {"detect: float32 in, float16 out", 1, T::kFloat32, T::kFloat16, false},
      {"detect: float16 in, float16 out, batch 3", 3, T::kFloat16, T::kFloat16, false},
      {"detect: float16 in, float32 out, batch 2", 2, T::kFloat16, T::kFloat32, false},
      {"detectTensor: float32 in, float32 out", 1, T::kFloat32, T::kFloat32, true},
      {"detectTensor: float16 in, float32 out, batch 2", 2, T::kFloat16, T::kFloat32, true},
      {"detectTensor: float16 in, float16 out, batch 3", 3, T::kFloat16, T::kFloat16, true},
  };
  for (const auto& c : cases) {
    add_case("engine I/O: float16 and detectTensor", c.name,
             [c, &paths]() { return run(paths, c.n, c.in, c.out, c.tensor); });
  }
}

}  // namespace yolo::gpu_cases
