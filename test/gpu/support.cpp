#include "support.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/pixel.h"
#include "cpu/postprocess.h"
#include "cpu/preprocess.h"
#include "cuda/cuda_check.h"
#include "json.h"

namespace yolo::gpu_cases {
namespace {

// The fixture generator's formulas (scripts/make-resize-fixtures.py, test/native/fixtures.ts).
uint8_t pattern_value(uint32_t x, uint32_t y, uint32_t c) {
  return static_cast<uint8_t>((x * 7 + y * 13 + c * 29 + ((x * y) % 17) * 11) & 255u);
}
uint8_t hash_value(uint32_t x, uint32_t y, uint32_t c) {
  uint32_t v = x * 0x9e3779b1u + y * 0x85ebca77u + c * 0xc2b2ae3du;
  v ^= v >> 16;
  v *= 0x7feb352du;
  v ^= v >> 15;
  v *= 0x846ca68bu;
  v ^= v >> 16;
  return static_cast<uint8_t>(v & 255u);
}

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0x1fu) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112u) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {  // subnormal: normalize
    exp = 113;
    while ((mant & 0x400u) == 0) {
      mant <<= 1;
      --exp;
    }
    bits = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

cpu::TensorDType to_dtype(cuda::ElementType t) {
  return t == cuda::ElementType::kFloat32 ? cpu::TensorDType::kFloat32
                                          : (t == cuda::ElementType::kFloat16 ? cpu::TensorDType::kFloat16
                                                                              : cpu::TensorDType::kUint8);
}

}  // namespace

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

OwnedImage fixture_source(const Paths& paths, const std::string& kind, int width, int height, int channels,
                          const std::string& file) {
  OwnedImage img;
  const size_t row = static_cast<size_t>(width) * static_cast<size_t>(channels);
  if (kind == "file") {
    std::string name = file;
    if (name.size() > 3 && name.compare(name.size() - 3, 3, ".gz") == 0) name.resize(name.size() - 3);
    const std::string bytes = read_file(paths.unpacked + "/resize/" + name);
    if (bytes.size() != row * static_cast<size_t>(height)) throw std::runtime_error(file + ": unexpected size");
    img.bytes.assign(bytes.begin(), bytes.end());
  } else {
    img.bytes.resize(row * static_cast<size_t>(height));
    size_t i = 0;
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x)
        for (int c = 0; c < channels; ++c)
          img.bytes[i++] = kind == "hash" ? hash_value(x, y, c) : pattern_value(x, y, c);
  }
  img.view = cuda::HostImage{img.bytes.data(), width, height, row, channels == 1 ? PixelFormat::kGray : PixelFormat::kRGB};
  return img;
}

OwnedImage make_image(int width, int height, PixelFormat format, int pad, uint32_t seed) {
  OwnedImage img;
  const int cn = pixel_channels(format);
  const size_t stride = static_cast<size_t>(width) * static_cast<size_t>(cn) + static_cast<size_t>(pad);
  img.bytes.resize(stride * static_cast<size_t>(height));
  for (int y = 0; y < height; ++y)
    for (size_t x = 0; x < stride; ++x)
      img.bytes[static_cast<size_t>(y) * stride + x] =
          hash_value(static_cast<uint32_t>(x) + seed * 7919u, static_cast<uint32_t>(y), seed);
  img.view = cuda::HostImage{img.bytes.data(), width, height, stride, format};
  return img;
}

const RecordedOutputs& recorded_outputs(const Paths& paths) {
  static RecordedOutputs out;
  if (!out.raw.empty()) return out;
  const Json index = JsonParser(read_file(paths.fixtures + "/raw-outputs/index.json")).parse();
  out.channels = index["shape"].array.at(1).as_int();
  out.anchors = index["shape"].array.at(2).as_int();
  for (const auto& [key, info] : index["images"].object) {
    const std::string bytes = read_file(paths.unpacked + "/raw-outputs/" + key + ".bin");
    std::vector<float> raw(static_cast<size_t>(out.channels) * static_cast<size_t>(out.anchors), 0.0f);
    uint32_t count = 0;
    std::memcpy(&count, bytes.data(), 4);
    size_t o = 4;
    for (uint32_t k = 0; k < count; ++k) {
      uint32_t a = 0;
      std::memcpy(&a, bytes.data() + o, 4);
      o += 4;
      for (int c = 0; c < out.channels; ++c, o += 4)
        std::memcpy(&raw[static_cast<size_t>(c) * static_cast<size_t>(out.anchors) + a], bytes.data() + o, 4);
    }
    if (o != bytes.size()) throw std::runtime_error(key + ".bin: unexpected size");
    out.keys.push_back(key);
    out.sizes.push_back(info["width"].as_int());
    out.sizes.push_back(info["height"].as_int());
    out.raw.push_back(std::move(raw));
  }
  return out;
}

std::vector<uint8_t> cpu_letterbox(const cuda::HostImage* images, int n, int w, int h, cuda::ElementType type,
                                   std::vector<LetterboxGeometry>* geometry, std::vector<double>* stats,
                                   int threads) {
  std::vector<cpu::ImageView> views(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const cuda::HostImage& img = images[i];
    const size_t row = static_cast<size_t>(img.width) * static_cast<size_t>(pixel_channels(img.format));
    views[static_cast<size_t>(i)] = cpu::ImageView{img.data, img.stride * static_cast<size_t>(img.height - 1) + row,
                                                   img.width, img.height, img.stride, img.format};
  }
  cpu::PreprocessOptions o;
  o.dst_w = w;
  o.dst_h = h;
  o.dtype = to_dtype(type);
  o.threads = threads;
  std::vector<uint8_t> out(static_cast<size_t>(n) * 3 * static_cast<size_t>(w) * static_cast<size_t>(h) *
                           cpu::dtype_bytes(o.dtype));
  std::vector<LetterboxGeometry> g(static_cast<size_t>(n));
  if (stats != nullptr) stats->assign(static_cast<size_t>(n) * kImageStatsCount, 0.0);
  cpu::preprocess_batch(views.data(), views.size(), o, out.data(), g.data(),
                        stats != nullptr ? stats->data() : nullptr);
  if (geometry != nullptr) *geometry = g;
  return out;
}

std::vector<cuda::Rows> cpu_postprocess(const float* raw, int n, int channels, int anchors, int input_w,
                                        int input_h, const std::vector<int32_t>& orig_sizes,
                                        const cuda::PostParams& params) {
  cpu::PostprocessOptions o;
  o.batch = n;
  o.channels = channels;
  o.anchors = anchors;
  o.conf = params.conf;
  o.iou = params.iou;
  o.max_det = params.max_det;
  o.agnostic = params.agnostic;
  o.class_allowed = params.class_allowed;
  o.input_w = input_w;
  o.input_h = input_h;
  o.orig_sizes = orig_sizes;
  std::vector<std::vector<cpu::Detection>> dets;
  cpu::postprocess_batch(raw, o, &dets);
  std::vector<cuda::Rows> rows(dets.size());
  for (size_t i = 0; i < dets.size(); ++i) {
    for (const cpu::Detection& d : dets[i]) rows[i].insert(rows[i].end(), {d.x1, d.y1, d.x2, d.y2, d.score, d.cls});
  }
  return rows;
}

std::vector<uint16_t> to_half(const std::vector<float>& v) {
  std::vector<uint16_t> h(v.size());
  for (size_t i = 0; i < v.size(); ++i) h[i] = float_to_half_bits(v[i]);
  return h;
}

std::vector<float> widen_half(const std::vector<uint16_t>& h) {
  std::vector<float> v(h.size());
  for (size_t i = 0; i < h.size(); ++i) v[i] = half_to_float(h[i]);
  return v;
}

void FakeInference::enqueue(int batch, void* input, void* output, cudaStream_t stream) {
  const size_t n = static_cast<size_t>(batch);
  input_.resize(n * input_per_image_);
  cuda::check(cudaMemcpyAsync(output, raw_, n * per_image_, cudaMemcpyHostToDevice, stream),
              "cudaMemcpyAsync(fake inference outputs)");
  cuda::check(cudaMemcpyAsync(input_.data(), input, input_.size(), cudaMemcpyDeviceToHost, stream),
              "cudaMemcpyAsync(fake inference input read-back)");
}

std::string compare_bytes(const std::string& what, const void* a, size_t a_bytes, const void* b, size_t b_bytes) {
  if (a_bytes != b_bytes) {
    return what + ": " + std::to_string(a_bytes) + " bytes (GPU) vs " + std::to_string(b_bytes) + " (CPU)";
  }
  const auto* x = static_cast<const uint8_t*>(a);
  const auto* y = static_cast<const uint8_t*>(b);
  for (size_t i = 0; i < a_bytes; ++i) {
    if (x[i] != y[i]) {
      return what + ": first difference at byte " + std::to_string(i) + " (GPU " + std::to_string(x[i]) + ", CPU " +
             std::to_string(y[i]) + ")";
    }
  }
  return "";
}

std::string compare_rows(const std::vector<cuda::Rows>& gpu, const std::vector<cuda::Rows>& cpu) {
  if (gpu.size() != cpu.size()) return "detections: " + std::to_string(gpu.size()) + " images vs " + std::to_string(cpu.size());
  for (size_t i = 0; i < gpu.size(); ++i) {
    if (gpu[i].size() != cpu[i].size()) {
      return "image " + std::to_string(i) + ": " + std::to_string(gpu[i].size() / 6) + " detections (GPU) vs " +
             std::to_string(cpu[i].size() / 6) + " (CPU)";
    }
    for (size_t k = 0; k < gpu[i].size(); ++k) {
      if (std::memcmp(&gpu[i][k], &cpu[i][k], sizeof(float)) != 0) {
        char buf[160];
        std::snprintf(buf, sizeof(buf), "image %zu row %zu column %zu: GPU %.9g vs CPU %.9g", i, k / 6, k % 6,
                      static_cast<double>(gpu[i][k]), static_cast<double>(cpu[i][k]));
        return buf;
      }
    }
  }
  return "";
}

}  // namespace yolo::gpu_cases
