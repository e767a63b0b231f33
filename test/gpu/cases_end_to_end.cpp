// End-to-end outputs [batch, K, 6] through the GPU pipeline (end_to_end_kernels.cu over core/end_to_end.h)
// against native/cpu/postprocess_end_to_end.cpp, bit for bit: strict conf (scores exactly at conf), the
// class filter, max_det below the rows above conf, batch > 1 with each image its own rows and scale, all
// rows below conf, float16 outputs, and a class column that is not a class id (both paths refuse it).
#include <cstdint>
#include <string>
#include <vector>

#include "core/end_to_end.h"
#include "core/error.h"
#include "cpu/postprocess_end_to_end.h"
#include "support.h"

namespace yolo::gpu_cases {
namespace {

constexpr int kInput = 640;

// K rows per image: boxes anywhere (some outside the input, so clipping matters), scores quantized so
// that many equal conf exactly, classes 0..nc-1, and the last quarter zero padding.
std::vector<float> synthetic_rows(int batch, int k, int nc, uint32_t seed) {
  std::vector<float> out(static_cast<size_t>(batch) * static_cast<size_t>(k) * kEndToEndRowLength, 0.0f);
  uint32_t state = seed * 2654435761u + 7u;
  auto next = [&]() {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
  };
  for (int b = 0; b < batch; ++b) {
    for (int r = 0; r < k - k / 4; ++r) {
      float* row = out.data() + (static_cast<size_t>(b) * static_cast<size_t>(k) + static_cast<size_t>(r)) * 6;
      const float x = static_cast<float>(next() % 720) - 40.0f + static_cast<float>(next() % 100) / 64.0f;
      const float y = static_cast<float>(next() % 720) - 40.0f + static_cast<float>(next() % 100) / 64.0f;
      row[0] = x;
      row[1] = y;
      row[2] = x + 4.0f + static_cast<float>(next() % 200) / 3.0f;
      row[3] = y + 4.0f + static_cast<float>(next() % 200) / 3.0f;
      row[4] = static_cast<float>(next() % 21) / 20.0f;  // 0, 0.05, ..., 1: 0.25 and 0.5 occur exactly
      row[5] = static_cast<float>(next() % static_cast<uint32_t>(nc));
    }
  }
  return out;
}

std::vector<cuda::Rows> cpu_end_to_end(const std::vector<float>& raw, int n, int k, int nc,
                                       const std::vector<int32_t>& sizes, const cuda::PostParams& params) {
  cpu::EndToEndOptions o;
  o.batch = n;
  o.rows = k;
  o.num_classes = nc;
  o.conf = params.conf;
  o.max_det = params.max_det;
  o.class_allowed = params.class_allowed;
  o.input_w = kInput;
  o.input_h = kInput;
  o.orig_sizes = sizes;
  std::vector<std::vector<cpu::Detection>> dets;
  cpu::postprocess_end_to_end_batch(raw.data(), o, &dets);
  std::vector<cuda::Rows> out(dets.size());
  for (size_t i = 0; i < dets.size(); ++i) {
    const float* p = &dets[i].data()->x1;
    out[i].assign(p, p + dets[i].size() * 6);
  }
  return out;
}

cuda::PipelineConfig e2e_config(int n, int k, int nc, cuda::ElementType output_type) {
  cuda::PipelineConfig pc;
  pc.max_batch = n;
  pc.channels = k;
  pc.anchors = kEndToEndRowLength;
  pc.end_to_end = true;
  pc.num_classes = nc;
  pc.output_type = output_type;
  pc.max_det = 300;
  return pc;
}

std::string compare_e2e(const std::vector<float>& raw, int n, int k, int nc, const std::vector<int32_t>& sizes,
                        const cuda::PostParams& params) {
  cuda::GpuPipeline pipeline(e2e_config(n, k, nc, cuda::ElementType::kFloat32));
  return compare_rows(pipeline.postprocess_host(raw.data(), n, sizes.data(), params),
                      cpu_end_to_end(raw, n, k, nc, sizes, params));
}

// The error code a call throws, or "" when it returns.
template <class Fn>
std::string error_code_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.code();
  }
  return "";
}

}  // namespace

void register_end_to_end_cases(const Paths&) {
  auto with = [](auto set) {
    cuda::PostParams p;
    set(p);
    return p;
  };
  std::vector<uint8_t> some(80, 0);
  some[0] = some[7] = some[79] = 1;
  std::vector<uint8_t> none(80, 0);
  const struct {
    const char* name;
    cuda::PostParams params;
  } options[] = {
      {"defaults (conf 0.25, strict: rows at 0.25 dropped)", cuda::PostParams{}},
      {"conf 0.5", with([](cuda::PostParams& p) { p.conf = 0.5f; })},
      {"conf 0 (padding rows score 0: never kept)", with([](cuda::PostParams& p) { p.conf = 0.0f; })},
      {"conf 1 (all rows below or at conf)", with([](cuda::PostParams& p) { p.conf = 1.0f; })},
      {"classes [0, 7, 79]", with([&](cuda::PostParams& p) { p.class_allowed = some; })},
      {"classes that never occur", with([&](cuda::PostParams& p) { p.class_allowed = none; })},
      {"maxDet 0", with([](cuda::PostParams& p) { p.max_det = 0; })},
      {"maxDet 7 (below the rows above conf)", with([](cuda::PostParams& p) { p.max_det = 7; })},
      {"maxDet 5 with classes", with([&](cuda::PostParams& p) {
         p.max_det = 5;
         p.class_allowed = some;
       })},
      {"iou 0 and agnostic (no effect)", with([](cuda::PostParams& p) {
         p.iou = 0.0;
         p.agnostic = true;
       })},
  };
  for (const auto& o : options) {
    const cuda::PostParams params = o.params;
    add_case("end-to-end: options", o.name, [params]() {
      const std::vector<float> raw = synthetic_rows(1, 300, 80, 11u);
      return compare_e2e(raw, 1, 300, 80, {810, 1080}, params);
    });
  }

  add_case("end-to-end: batches", "batch 5, each image its own rows and original size", []() {
    const std::vector<float> raw = synthetic_rows(5, 300, 80, 3u);
    return compare_e2e(raw, 5, 300, 80, {810, 1080, 1280, 720, 640, 640, 33, 17, 1000, 751}, cuda::PostParams{});
  });
  add_case("end-to-end: batches", "batch 3 of K = 100, nc 3, one image all zeros", []() {
    std::vector<float> raw = synthetic_rows(3, 100, 3, 5u);
    std::fill(raw.begin() + 100 * 6, raw.begin() + 200 * 6, 0.0f);
    return compare_e2e(raw, 3, 100, 3, {640, 480, 640, 480, 480, 640}, cuda::PostParams{});
  });

  add_case("end-to-end: pipeline", "float16 outputs through detect_tensor (boxes in input pixels)", []() {
    const int n = 2;
    const int k = 300;
    const std::vector<float> raw = synthetic_rows(n, k, 80, 9u);
    const std::vector<uint16_t> half = to_half(raw);
    const std::vector<float> widened = widen_half(half);
    cuda::GpuPipeline pipeline(e2e_config(n, k, 80, cuda::ElementType::kFloat16));
    FakeInference step(half.data(), static_cast<size_t>(k) * 6 * sizeof(uint16_t),
                       3 * static_cast<size_t>(kInput) * kInput * sizeof(float));
    std::vector<float> tensor(static_cast<size_t>(n) * 3 * kInput * kInput, 0.5f);
    return compare_rows(pipeline.detect_tensor(tensor.data(), n, cuda::PostParams{}, step, nullptr),
                        cpu_end_to_end(widened, n, k, 80, {kInput, kInput, kInput, kInput}, cuda::PostParams{}));
  });

  add_case("end-to-end: pipeline", "detect on images of three sizes (letterbox + fake inference + rows)", []() {
    const int n = 3;
    const int k = 300;
    const std::vector<float> raw = synthetic_rows(n, k, 80, 21u);
    std::vector<OwnedImage> images;
    images.push_back(make_image(810, 1080, PixelFormat::kRGB, 0, 1u));
    images.push_back(make_image(1280, 720, PixelFormat::kBGR, 5, 2u));
    images.push_back(make_image(97, 61, PixelFormat::kGray, 0, 3u));
    std::vector<cuda::HostImage> views;
    std::vector<int32_t> sizes;
    for (const auto& img : images) {
      views.push_back(img.view);
      sizes.insert(sizes.end(), {img.view.width, img.view.height});
    }
    cuda::GpuPipeline pipeline(e2e_config(n, k, 80, cuda::ElementType::kFloat32));
    FakeInference step(raw.data(), static_cast<size_t>(k) * 6 * sizeof(float),
                       3 * static_cast<size_t>(kInput) * kInput * sizeof(float));
    return compare_rows(pipeline.detect(views.data(), n, cuda::PostParams{}, step, nullptr),
                        cpu_end_to_end(raw, n, k, 80, sizes, cuda::PostParams{}));
  });

  add_case("end-to-end: refusals", "a class column that is not a class id: ERR_INFERENCE on both paths", []() {
    for (const float bad : {80.0f, 1.5f, -1.0f}) {
      std::vector<float> raw = synthetic_rows(2, 50, 80, 13u);
      raw[(50 + 3) * 6 + 4] = 0.9f;  // image 1, row 3: above conf ...
      raw[(50 + 3) * 6 + 5] = bad;   // ... with a class that does not exist
      const std::vector<int32_t> sizes = {640, 640, 640, 640};
      cuda::GpuPipeline pipeline(e2e_config(2, 50, 80, cuda::ElementType::kFloat32));
      const std::string gpu = error_code_of([&]() { pipeline.postprocess_host(raw.data(), 2, sizes.data(), {}); });
      const std::string cpu = error_code_of([&]() { cpu_end_to_end(raw, 2, 50, 80, sizes, {}); });
      if (gpu != code::kInference || cpu != code::kInference) {
        return "class " + std::to_string(bad) + ": GPU '" + gpu + "', CPU '" + cpu + "' (expected ERR_INFERENCE)";
      }
      // The slot stays usable: the next call on the same pipeline succeeds and matches the CPU.
      std::vector<float> good = synthetic_rows(2, 50, 80, 14u);
      const std::string again = compare_rows(pipeline.postprocess_host(good.data(), 2, sizes.data(), {}),
                                             cpu_end_to_end(good, 2, 50, 80, sizes, {}));
      if (!again.empty()) return "after the refusal: " + again;
    }
    return std::string();
  });
}

}  // namespace yolo::gpu_cases
