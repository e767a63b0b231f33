// yolo_gpu_check: the native half of scripts/gpu-check. Runs the CPU pipeline (native/cpu) and the CUDA
// kernels (native/cuda) on the same inputs and writes both results to files, bit for bit, for
// scripts/gpu/check.py to compare; and times the kernels. Plain C++ + CUDA, no Node: a GPU machine needs
// nvcc and Python only.
//
// Build (scripts/gpu-check does this): nvcc -std=c++17 -O3 --fmad=false -Xcompiler=-ffp-contract=off
// -arch=native -I native native/cuda/*.cu native/cuda/gpu_pipeline.cpp native/cpu/*.cpp
// scripts/gpu/gpu_check.cpp
//
// Image files (.rgb): int32 width, height, stride, format (yolo::PixelFormat), then stride * height bytes.
// Tensors: raw little-endian element arrays. Detection files: per image an int32 count, then count rows of
// 6 float32 [x1, y1, x2, y2, score, cls].
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "cpu/postprocess.h"
#include "cpu/preprocess.h"
#include "cuda/gpu_pipeline.h"

namespace {

using yolo::cuda::ElementType;

struct Image {
  int width = 0;
  int height = 0;
  int stride = 0;
  int format = 0;
  std::vector<uint8_t> pixels;
};

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const void* data, size_t bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
  if (!out) throw std::runtime_error("cannot write " + path);
}

Image read_image(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path);
  if (bytes.size() < 16) throw std::runtime_error(path + ": too short");
  Image img;
  int32_t header[4];
  std::memcpy(header, bytes.data(), sizeof(header));
  img.width = header[0];
  img.height = header[1];
  img.stride = header[2];
  img.format = header[3];
  img.pixels.assign(bytes.begin() + 16, bytes.end());
  if (img.pixels.size() < static_cast<size_t>(img.stride) * static_cast<size_t>(img.height)) {
    throw std::runtime_error(path + ": truncated pixels");
  }
  return img;
}

struct Args {
  std::string command;
  std::map<std::string, std::string> options;
  std::vector<std::string> positional;
  std::string get(const std::string& k, const std::string& fallback = "") const {
    auto it = options.find(k);
    if (it != options.end()) return it->second;
    if (fallback.empty()) throw std::runtime_error("missing --" + k);
    return fallback;
  }
  bool flag(const std::string& k) const { return options.count(k) != 0; }
};

Args parse(int argc, char** argv) {
  Args a;
  if (argc < 2) throw std::runtime_error("usage: yolo_gpu_check <command> [--key value ...] [files...]");
  a.command = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) == 0) {
      const std::string key = s.substr(2);
      if (key == "agnostic") {
        a.options[key] = "1";
      } else {
        if (i + 1 >= argc) throw std::runtime_error("missing value for " + s);
        a.options[key] = argv[++i];
      }
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

std::vector<double> numbers(const std::string& csv) {
  std::vector<double> out;
  std::stringstream ss(csv);
  std::string part;
  while (std::getline(ss, part, ',')) {
    if (!part.empty()) out.push_back(std::stod(part));
  }
  return out;
}

void size_arg(const Args& a, const char* key, int* w, int* h) {
  const std::string s = a.get(key);
  const size_t x = s.find('x');
  if (x == std::string::npos) throw std::runtime_error(std::string("--") + key + " must be WxH");
  *w = std::stoi(s.substr(0, x));
  *h = std::stoi(s.substr(x + 1));
}

ElementType dtype_arg(const Args& a) {
  const std::string d = a.get("dtype");
  if (d == "f32") return ElementType::kFloat32;
  if (d == "f16") return ElementType::kFloat16;
  if (d == "u8") return ElementType::kUint8;
  throw std::runtime_error("--dtype must be f32, f16 or u8");
}

yolo::cpu::TensorDType cpu_dtype(ElementType t) {
  return t == ElementType::kFloat32   ? yolo::cpu::TensorDType::kFloat32
         : t == ElementType::kFloat16 ? yolo::cpu::TensorDType::kFloat16
                                      : yolo::cpu::TensorDType::kUint8;
}

// Images named on the command line, each repeated --repeat times (batch timing of one frame).
std::vector<Image> images_arg(const Args& a) {
  const int repeat = std::stoi(a.get("repeat", "1"));
  std::vector<Image> out;
  for (const std::string& p : a.positional) {
    const Image img = read_image(p);
    for (int r = 0; r < repeat; ++r) out.push_back(img);
  }
  if (out.empty()) throw std::runtime_error("no images given");
  return out;
}

std::vector<yolo::cuda::HostImage> gpu_views(const std::vector<Image>& images) {
  std::vector<yolo::cuda::HostImage> v;
  for (const Image& img : images) {
    v.push_back(yolo::cuda::HostImage{img.pixels.data(), img.width, img.height,
                                      static_cast<size_t>(img.stride),
                                      static_cast<yolo::PixelFormat>(img.format)});
  }
  return v;
}

std::vector<yolo::cpu::ImageView> cpu_views(const std::vector<Image>& images) {
  std::vector<yolo::cpu::ImageView> v;
  for (const Image& img : images) {
    yolo::cpu::ImageView view;
    view.data = img.pixels.data();
    view.byte_length = img.pixels.size();
    view.width = img.width;
    view.height = img.height;
    view.stride = static_cast<size_t>(img.stride);
    view.format = static_cast<yolo::PixelFormat>(img.format);
    v.push_back(view);
  }
  return v;
}

struct Raw {
  int batch = 0;
  int channels = 0;
  int anchors = 0;
  std::vector<float> data;
};

Raw raw_arg(const Args& a) {
  Raw r;
  const std::vector<double> dims = numbers(a.get("dims"));
  if (dims.size() != 3) throw std::runtime_error("--dims must be B,C,N");
  r.batch = static_cast<int>(dims[0]);
  r.channels = static_cast<int>(dims[1]);
  r.anchors = static_cast<int>(dims[2]);
  const std::vector<uint8_t> bytes = read_file(a.get("raw"));
  const size_t per_image = static_cast<size_t>(r.channels) * static_cast<size_t>(r.anchors);
  const size_t file_images = bytes.size() / (per_image * sizeof(float));
  if (file_images < 1 || bytes.size() != file_images * per_image * sizeof(float)) {
    throw std::runtime_error("--raw size does not match --dims");
  }
  // A file of fewer images than the batch is repeated (batch timing of one image's outputs).
  r.data.resize(static_cast<size_t>(r.batch) * per_image);
  for (int b = 0; b < r.batch; ++b) {
    const size_t src = (static_cast<size_t>(b) % file_images) * per_image * sizeof(float);
    std::memcpy(r.data.data() + static_cast<size_t>(b) * per_image, bytes.data() + src,
                per_image * sizeof(float));
  }
  return r;
}

yolo::cuda::PostParams post_params(const Args& a, int nc) {
  yolo::cuda::PostParams p;
  p.conf = static_cast<float>(std::stod(a.get("conf", "0.25")));
  p.iou = std::stod(a.get("iou", "0.7"));
  p.max_det = std::stoi(a.get("max-det", "300"));
  p.agnostic = a.flag("agnostic");
  const std::string classes = a.get("classes", "-");
  if (classes != "-") {
    p.class_allowed.assign(static_cast<size_t>(nc), 0);
    for (double c : numbers(classes)) p.class_allowed.at(static_cast<size_t>(c)) = 1;
  }
  return p;
}

std::vector<int32_t> sizes_arg(const Args& a, int batch, int in_w, int in_h) {
  const std::string s = a.get("sizes", "-");
  std::vector<int32_t> out;
  if (s == "-") {
    for (int b = 0; b < batch; ++b) {
      out.push_back(in_w);
      out.push_back(in_h);
    }
    return out;
  }
  const std::vector<double> v = numbers(s);
  for (int b = 0; b < batch; ++b) {
    out.push_back(static_cast<int32_t>(v.at((2 * static_cast<size_t>(b)) % v.size())));
    out.push_back(static_cast<int32_t>(v.at((2 * static_cast<size_t>(b) + 1) % v.size())));
  }
  return out;
}

void write_rows(const std::string& path, const std::vector<std::vector<float>>& rows) {
  std::vector<uint8_t> out;
  for (const auto& r : rows) {
    const int32_t count = static_cast<int32_t>(r.size() / 6);
    const auto* c = reinterpret_cast<const uint8_t*>(&count);
    out.insert(out.end(), c, c + sizeof(count));
    const auto* f = reinterpret_cast<const uint8_t*>(r.data());
    out.insert(out.end(), f, f + r.size() * sizeof(float));
  }
  write_file(path, out.data(), out.size());
}

std::vector<std::vector<float>> cpu_postprocess(const Raw& raw, const yolo::cuda::PostParams& p, int in_w,
                                                int in_h, const std::vector<int32_t>& sizes) {
  yolo::cpu::PostprocessOptions o;
  o.batch = raw.batch;
  o.channels = raw.channels;
  o.anchors = raw.anchors;
  o.conf = p.conf;
  o.iou = p.iou;
  o.max_det = p.max_det;
  o.agnostic = p.agnostic;
  o.class_allowed = p.class_allowed;
  o.input_w = in_w;
  o.input_h = in_h;
  o.orig_sizes = sizes;
  o.threads = 4;
  std::vector<std::vector<yolo::cpu::Detection>> dets;
  yolo::cpu::postprocess_batch(raw.data.data(), o, &dets);
  std::vector<std::vector<float>> rows;
  for (const auto& d : dets) {
    std::vector<float> r(d.size() * 6);
    if (!d.empty()) std::memcpy(r.data(), d.data(), r.size() * sizeof(float));
    rows.push_back(std::move(r));
  }
  return rows;
}

void print_samples(const char* name, const std::vector<float>& us) {
  std::printf("{\"%s\": [", name);
  for (size_t i = 0; i < us.size(); ++i) std::printf("%s%.3f", i ? "," : "", us[i]);
  std::printf("]}\n");
}

// YOLO_GPU_CHECK_EMULATE=1: the "GPU" results are the CPU path's (no CUDA call at all). Only for testing
// scripts/gpu/check.py's plumbing on a machine without a GPU; check.py labels such a report EMULATED.
bool emulate() {
  const char* e = std::getenv("YOLO_GPU_CHECK_EMULATE");
  return e != nullptr && std::string(e) == "1";
}

int run(const Args& a) {
  if (a.command == "info" && emulate()) {
    std::printf(
        "{\"device\": \"EMULATED (CPU)\", \"computeCapability\": \"0.0\", \"driver\": 0, \"runtime\": %d, "
        "\"sms\": 0}\n",
        CUDART_VERSION);
    return 0;
  }
  if (a.command == "info") {
    int driver = 0;
    cudaDriverGetVersion(&driver);
    cudaDeviceProp prop{};
    yolo::cuda::check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
    std::printf(
        "{\"device\": \"%s\", \"computeCapability\": \"%d.%d\", \"driver\": %d, \"runtime\": %d, \"sms\": "
        "%d}\n",
        prop.name, prop.major, prop.minor, driver, CUDART_VERSION, prop.multiProcessorCount);
    return 0;
  }
  if (a.command == "letterbox") {
    int w = 0, h = 0;
    size_arg(a, "size", &w, &h);
    const ElementType type = dtype_arg(a);
    const std::vector<Image> images = images_arg(a);
    const size_t bytes = images.size() * 3 * static_cast<size_t>(w) * static_cast<size_t>(h) *
                         static_cast<size_t>(yolo::cuda::element_bytes(type));
    std::vector<uint8_t> cpu(bytes), gpu(bytes);
    std::vector<yolo::LetterboxGeometry> gc(images.size()), gg(images.size());
    const auto cv = cpu_views(images);
    yolo::cpu::PreprocessOptions po;
    po.dst_w = w;
    po.dst_h = h;
    po.dtype = cpu_dtype(type);
    po.threads = 4;
    yolo::cpu::preprocess_batch(cv.data(), cv.size(), po, cpu.data(), gc.data());
    if (emulate()) {
      write_file(a.get("out-cpu"), cpu.data(), cpu.size());
      write_file(a.get("out-gpu"), cpu.data(), cpu.size());
      return 0;
    }
    yolo::cuda::PipelineConfig pc;
    pc.max_batch = static_cast<int>(images.size());
    pc.input_w = w;
    pc.input_h = h;
    yolo::cuda::GpuPipeline pipeline(pc);
    const auto views = gpu_views(images);
    pipeline.letterbox_to_host(views.data(), static_cast<int>(views.size()), type, gpu.data(), gg.data());
    write_file(a.get("out-cpu"), cpu.data(), cpu.size());
    write_file(a.get("out-gpu"), gpu.data(), gpu.size());
    for (size_t i = 0; i < images.size(); ++i) {
      if (gc[i].new_w != gg[i].new_w || gc[i].new_h != gg[i].new_h || gc[i].left != gg[i].left ||
          gc[i].top != gg[i].top) {
        std::printf("{\"geometryMismatch\": %zu}\n", i);
        return 3;
      }
    }
    return 0;
  }
  if (a.command == "postprocess") {
    int in_w = 0, in_h = 0;
    size_arg(a, "input", &in_w, &in_h);
    const Raw raw = raw_arg(a);
    const yolo::cuda::PostParams p = post_params(a, raw.channels - 4);
    const std::vector<int32_t> sizes = sizes_arg(a, raw.batch, in_w, in_h);
    write_rows(a.get("out-cpu"), cpu_postprocess(raw, p, in_w, in_h, sizes));
    if (emulate()) {
      write_rows(a.get("out-gpu"), cpu_postprocess(raw, p, in_w, in_h, sizes));
      return 0;
    }
    yolo::cuda::PipelineConfig pc;
    pc.max_batch = raw.batch;
    pc.input_w = in_w;
    pc.input_h = in_h;
    pc.channels = raw.channels;
    pc.anchors = raw.anchors;
    yolo::cuda::GpuPipeline pipeline(pc);
    write_rows(a.get("out-gpu"), pipeline.postprocess_host(raw.data.data(), raw.batch, sizes.data(), p));
    return 0;
  }
  if (a.command == "pipeline") {
    int w = 0, h = 0;
    size_arg(a, "size", &w, &h);
    const Raw raw = raw_arg(a);
    const std::vector<Image> images = images_arg(a);
    if (static_cast<int>(images.size()) != raw.batch)
      throw std::runtime_error("--dims batch must equal the image count");
    const yolo::cuda::PostParams p = post_params(a, raw.channels - 4);
    if (emulate()) {
      std::vector<int32_t> sizes;
      for (const Image& img : images) {
        sizes.push_back(img.width);
        sizes.push_back(img.height);
      }
      write_rows(a.get("out-gpu"), cpu_postprocess(raw, p, w, h, sizes));
      std::printf("{\"preprocessMs\": 0, \"inferenceMs\": 0, \"postprocessMs\": 0}\n");
      return 0;
    }
    yolo::cuda::PipelineConfig pc;
    pc.max_batch = raw.batch;
    pc.input_w = w;
    pc.input_h = h;
    pc.input_type = dtype_arg(a);
    pc.channels = raw.channels;
    pc.anchors = raw.anchors;
    yolo::cuda::GpuPipeline pipeline(pc);
    // Inference replaced by an upload of recorded raw outputs.
    struct Upload final : yolo::cuda::InferenceStep {
      const Raw& raw;
      explicit Upload(const Raw& r) : raw(r) {}
      void enqueue(int batch, void*, void* output, cudaStream_t s) override {
        const size_t bytes = static_cast<size_t>(batch) * static_cast<size_t>(raw.channels) *
                             static_cast<size_t>(raw.anchors) * sizeof(float);
        yolo::cuda::check(cudaMemcpyAsync(output, raw.data.data(), bytes, cudaMemcpyHostToDevice, s),
                          "upload raw");
      }
    } upload(raw);
    const auto views = gpu_views(images);
    yolo::cuda::StageTimes t;
    write_rows(a.get("out-gpu"), pipeline.detect(views.data(), raw.batch, p, upload, &t));
    std::printf("{\"preprocessMs\": %.4f, \"inferenceMs\": %.4f, \"postprocessMs\": %.4f}\n", t.preprocess_ms,
                t.inference_ms, t.postprocess_ms);
    return 0;
  }
  if ((a.command == "time-letterbox" || a.command == "time-postprocess") && emulate()) {
    print_samples("us", {});
    return 0;
  }
  if (a.command == "time-letterbox") {
    int w = 0, h = 0;
    size_arg(a, "size", &w, &h);
    const std::vector<Image> images = images_arg(a);
    yolo::cuda::PipelineConfig pc;
    pc.max_batch = static_cast<int>(images.size());
    pc.input_w = w;
    pc.input_h = h;
    pc.input_type = dtype_arg(a);
    yolo::cuda::GpuPipeline pipeline(pc);
    const auto views = gpu_views(images);
    const bool stats = a.get("stats", "0") == "1";
    print_samples("us", pipeline.time_letterbox(views.data(), static_cast<int>(views.size()),
                                                std::stoi(a.get("iterations", "200")), stats));
    return 0;
  }
  if (a.command == "time-postprocess") {
    int in_w = 0, in_h = 0;
    size_arg(a, "input", &in_w, &in_h);
    const Raw raw = raw_arg(a);
    const yolo::cuda::PostParams p = post_params(a, raw.channels - 4);
    const std::vector<int32_t> sizes = sizes_arg(a, raw.batch, in_w, in_h);
    yolo::cuda::PipelineConfig pc;
    pc.max_batch = raw.batch;
    pc.input_w = in_w;
    pc.input_h = in_h;
    pc.channels = raw.channels;
    pc.anchors = raw.anchors;
    yolo::cuda::GpuPipeline pipeline(pc);
    print_samples("us", pipeline.time_postprocess(raw.data.data(), raw.batch, sizes.data(), p,
                                                  std::stoi(a.get("iterations", "200"))));
    return 0;
  }
  throw std::runtime_error("unknown command " + a.command);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const yolo::Error& e) {
    std::fprintf(stderr, "error [%s]: %s\n", e.code(), e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
}
