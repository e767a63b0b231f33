// Decode + sort + NMS kernels alone (GpuPipeline::postprocess_host) against the CPU postprocess: the
// recorded yolo11n outputs at batch 1 and 10, the NMS options at their edges, and candidate counts past
// the shared-memory sort (4096) and past the NMS cap (30 000).
#include <cstdint>
#include <string>
#include <vector>

#include "core/decode.h"
#include "support.h"

namespace yolo::gpu_cases {
namespace {

std::string compare_postprocess(const std::vector<float>& raw, int n, int channels, int anchors,
                                const std::vector<int32_t>& sizes, const cuda::PostParams& params,
                                cuda::ElementType output_type = cuda::ElementType::kFloat32) {
  cuda::PipelineConfig pc;
  pc.max_batch = n;
  pc.channels = channels;
  pc.anchors = anchors;
  pc.output_type = output_type;
  pc.max_det = params.max_det > pc.max_det ? params.max_det : pc.max_det;
  cuda::GpuPipeline pipeline(pc);
  if (output_type == cuda::ElementType::kFloat32) {
    return compare_rows(pipeline.postprocess_host(raw.data(), n, sizes.data(), params),
                        cpu_postprocess(raw.data(), n, channels, anchors, 640, 640, sizes, params));
  }
  // float16 outputs: the engine leaves half bits; the CPU sees the same values widened.
  const std::vector<uint16_t> half = to_half(raw);
  const std::vector<float> widened = widen_half(half);
  std::vector<cuda::HostImage> none;
  const size_t per_image = static_cast<size_t>(channels) * static_cast<size_t>(anchors);
  FakeInference step(half.data(), per_image * sizeof(uint16_t), 3 * 640 * 640 * sizeof(float));
  std::vector<float> tensor(static_cast<size_t>(n) * 3 * 640 * 640, 0.5f);
  // detect_tensor keeps boxes in input pixels: the CPU reference gets the input size as original size.
  const std::vector<int32_t> input_sizes(2 * static_cast<size_t>(n), 640);
  return compare_rows(pipeline.detect_tensor(tensor.data(), n, params, step, nullptr),
                      cpu_postprocess(widened.data(), n, channels, anchors, 640, 640, input_sizes, params));
}

// Synthetic outputs: `candidates` anchors score above 0.25 in some class, boxes spread over the image so
// NMS both keeps and suppresses; the rest score 0.
std::vector<float> synthetic_outputs(int channels, int anchors, int candidates, uint32_t seed) {
  std::vector<float> raw(static_cast<size_t>(channels) * static_cast<size_t>(anchors), 0.0f);
  uint32_t state = seed * 2654435761u + 1u;
  auto next = [&]() {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
  };
  const size_t n = static_cast<size_t>(anchors);
  const int nc = channels - 4;
  for (int a = 0; a < anchors; ++a) {
    const size_t i = static_cast<size_t>(a);
    raw[i] = static_cast<float>(next() % 640);
    raw[n + i] = static_cast<float>(next() % 640);
    raw[2 * n + i] = 8.0f + static_cast<float>(next() % 120);
    raw[3 * n + i] = 8.0f + static_cast<float>(next() % 120);
    if (a < candidates) {
      const int cls = static_cast<int>(next() % static_cast<uint32_t>(nc));
      // Scores in (0.25, 1), many ties (quantized) so the anchor tie-break matters.
      raw[static_cast<size_t>(4 + cls) * n + i] = 0.26f + static_cast<float>(next() % 64) / 100.0f;
    }
  }
  return raw;
}

}  // namespace

void register_postprocess_cases(const Paths& paths) {
  // Recorded outputs: each image at batch 1, then all ten in one batch.
  for (size_t k = 0; k < 10; ++k) {
    add_case("postprocess: recorded outputs", "batch 1 #" + std::to_string(k), [k, &paths]() {
      const RecordedOutputs& rec = recorded_outputs(paths);
      const std::vector<int32_t> sizes = {rec.sizes[2 * k], rec.sizes[2 * k + 1]};
      return compare_postprocess(rec.raw.at(k), 1, rec.channels, rec.anchors, sizes, cuda::PostParams{});
    });
  }
  add_case("postprocess: recorded outputs", "batch 10", [&paths]() {
    const RecordedOutputs& rec = recorded_outputs(paths);
    std::vector<float> raw;
    for (const auto& r : rec.raw) raw.insert(raw.end(), r.begin(), r.end());
    return compare_postprocess(raw, static_cast<int>(rec.raw.size()), rec.channels, rec.anchors, rec.sizes,
                               cuda::PostParams{});
  });

  // NMS options at their edges, on the bus image's outputs (and a batch where one image has nothing).
  struct Option {
    const char* name;
    cuda::PostParams params;
  };
  auto with = [](auto set) {
    cuda::PostParams p;
    set(p);
    return p;
  };
  std::vector<uint8_t> only_person(80, 0);
  only_person[0] = 1;
  std::vector<uint8_t> person_bus(80, 0);
  person_bus[0] = person_bus[5] = 1;
  std::vector<uint8_t> toothbrush(80, 0);
  toothbrush[79] = 1;
  const std::vector<Option> options = {
      {"conf 0 (every anchor with a score)", with([](cuda::PostParams& p) { p.conf = 0.0f; })},
      {"conf 0.5", with([](cuda::PostParams& p) { p.conf = 0.5f; })},
      {"conf 1 (0 candidates)", with([](cuda::PostParams& p) { p.conf = 1.0f; })},
      {"iou 0 (one box per class)", with([](cuda::PostParams& p) { p.iou = 0.0; })},
      {"iou 1 (nothing suppressed)", with([](cuda::PostParams& p) { p.iou = 1.0; })},
      {"agnostic", with([](cuda::PostParams& p) { p.agnostic = true; })},
      {"classes [0]", with([&](cuda::PostParams& p) { p.class_allowed = only_person; })},
      {"classes [0, 5]", with([&](cuda::PostParams& p) { p.class_allowed = person_bus; })},
      {"classes [79] (none found)", with([&](cuda::PostParams& p) { p.class_allowed = toothbrush; })},
      {"maxDet 0", with([](cuda::PostParams& p) { p.max_det = 0; })},
      {"maxDet 1 reached", with([](cuda::PostParams& p) { p.max_det = 1; })},
      {"maxDet 3 reached, conf 0.05", with([](cuda::PostParams& p) {
         p.max_det = 3;
         p.conf = 0.05f;
       })},
  };
  for (const Option& o : options) {
    const cuda::PostParams params = o.params;
    add_case("postprocess: NMS options", o.name, [params, &paths]() {
      const RecordedOutputs& rec = recorded_outputs(paths);
      size_t bus = 0;
      while (rec.keys[bus] != "bus") ++bus;
      const std::vector<int32_t> sizes = {rec.sizes[2 * bus], rec.sizes[2 * bus + 1]};
      return compare_postprocess(rec.raw[bus], 1, rec.channels, rec.anchors, sizes, params);
    });
  }
  add_case("postprocess: NMS options", "batch of 2, one image without candidates", [&paths]() {
    const RecordedOutputs& rec = recorded_outputs(paths);
    std::vector<float> raw(rec.raw[0]);
    raw.resize(2 * raw.size(), 0.0f);
    const std::vector<int32_t> sizes = {rec.sizes[0], rec.sizes[1], 100, 50};
    return compare_postprocess(raw, 2, rec.channels, rec.anchors, sizes, cuda::PostParams{});
  });

  // Candidate counts beyond the shared-memory sort and beyond the NMS cap, float32 and float16.
  const struct {
    int anchors;
    int candidates;
    int nc;
  } sizes[] = {{8400, 5000, 80}, {8400, 8400, 3}, {40000, 33000, 2}, {65536, 65536, 1}};
  for (const auto& s : sizes) {
    for (const cuda::ElementType type : {cuda::ElementType::kFloat32, cuda::ElementType::kFloat16}) {
      const int anchors = s.anchors;
      const int candidates = s.candidates;
      const int channels = 4 + s.nc;
      add_case("postprocess: many candidates",
               std::to_string(candidates) + " of " + std::to_string(anchors) + " anchors, nc " +
                   std::to_string(s.nc) + (type == cuda::ElementType::kFloat16 ? " float16" : " float32"),
               [=]() {
                 const std::vector<float> raw = synthetic_outputs(channels, anchors, candidates, 7u + static_cast<uint32_t>(anchors));
                 cuda::PostParams params;
                 params.max_det = 1000;
                 return compare_postprocess(raw, 1, channels, anchors, {640, 640}, params, type);
               });
    }
  }
  static_assert(kMaxNmsCandidates == 30000, "the cases above straddle the NMS candidate cap");
}

}  // namespace yolo::gpu_cases
