// Letterbox kernel alone, on every resize fixture (test/fixtures/resize/cases.json), into uint8, float32
// and float16 tensors: the GPU bytes and geometry must equal the CPU path's.
#include <string>
#include <vector>

#include "json.h"
#include "support.h"

namespace yolo::gpu_cases {

void register_letterbox_cases(const Paths& paths) {
  const Json doc = JsonParser(read_file(paths.fixtures + "/resize/cases.json")).parse();
  const struct {
    cuda::ElementType type;
    const char* name;
  } types[] = {{cuda::ElementType::kUint8, "uint8"},
               {cuda::ElementType::kFloat32, "float32"},
               {cuda::ElementType::kFloat16, "float16"}};
  for (const Json& c : doc["cases"].array) {
    const Json& src = c["source"];
    const std::string kind = src["kind"].string;
    const int width = src["width"].as_int();
    const int height = src["height"].as_int();
    const int channels = src["channels"].as_int();
    const std::string file = src.has("file") ? src["file"].string : "";
    const int dst_w = c["target"]["width"].as_int();
    const int dst_h = c["target"]["height"].as_int();
    for (const auto& t : types) {
      const cuda::ElementType type = t.type;
      add_case("letterbox: resize fixtures", c["name"].string + " " + t.name,
               [=, &paths]() -> std::string {
                 const OwnedImage img = fixture_source(paths, kind, width, height, channels, file);
                 cuda::PipelineConfig pc;
                 pc.input_w = dst_w;
                 pc.input_h = dst_h;
                 pc.max_batch = 1;
                 cuda::GpuPipeline pipeline(pc);
                 std::vector<uint8_t> gpu(3 * static_cast<size_t>(dst_w) * static_cast<size_t>(dst_h) *
                                          static_cast<size_t>(cuda::element_bytes(type)));
                 LetterboxGeometry g{};
                 pipeline.letterbox_to_host(&img.view, 1, type, gpu.data(), &g);
                 std::vector<LetterboxGeometry> cg;
                 const std::vector<uint8_t> cpu = cpu_letterbox(&img.view, 1, dst_w, dst_h, type, &cg);
                 if (g.new_w != cg[0].new_w || g.new_h != cg[0].new_h || g.left != cg[0].left ||
                     g.top != cg[0].top) {
                   return "geometry differs";
                 }
                 return compare_bytes("tensor", gpu.data(), gpu.size(), cpu.data(), cpu.size());
               });
    }
  }
}

}  // namespace yolo::gpu_cases
