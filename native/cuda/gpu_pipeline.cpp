#include "gpu_pipeline.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>

#include "core/decode.h"
#include "core/end_to_end.h"
#include "core/error.h"
#include "core/resize_linear.h"

namespace yolo::cuda {
namespace {

constexpr size_t kAlign = 256;

size_t align_up(size_t v) {
  return (v + kAlign - 1) / kAlign * kAlign;
}

int next_pow2(int v) {
  int p = 1;
  while (p < v) p <<= 1;
  return p;
}

ResizeMode resize_mode(const HostImage& img, const LetterboxGeometry& g) {
  if (!letterbox_needs_resize(img.width, img.height, g)) return ResizeMode::kCopy;
  if (resize_uses_area2x(img.width, img.height, g.new_w, g.new_h)) return ResizeMode::kArea2x;
  return ResizeMode::kLinear;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int GpuPipeline::make_current(int device) {
  check(cudaSetDevice(device), "cudaSetDevice");
  return device;
}

// device_ is the first member: the stream and events below are created on the configured device.
GpuPipeline::GpuPipeline(const PipelineConfig& config)
    : device_((throw_if_context_lost(), make_current(config.device))), config_(config) {
  const PipelineConfig& c = config_;
  if (c.max_det < 0 || c.max_det > kMaxNmsCandidates) {
    throw Error(code::kInvalidOption, "Expected the maxDet limit between 0 and " +
                                          std::to_string(kMaxNmsCandidates) + " but received " +
                                          std::to_string(c.max_det));
  }
  const bool bad_output = c.end_to_end
                              ? (c.channels < 1 || c.anchors != kEndToEndRowLength || c.num_classes < 1)
                              : (c.channels < 5 || c.anchors < 1);
  if (c.max_batch < 1 || c.input_w < 1 || c.input_h < 1 || bad_output) {
    throw Error(code::kInvalidOption,
                "GPU pipeline: invalid shape (batch " + std::to_string(c.max_batch) + ", input " +
                    std::to_string(c.input_w) + "x" + std::to_string(c.input_h) + ", output [" +
                    std::to_string(c.channels) + ", " + std::to_string(c.anchors) + "])");
  }
  if (c.input_type == ElementType::kUint8 || c.output_type == ElementType::kUint8) {
    throw Error(code::kModelUnsupported,
                "GPU pipeline: engine inputs and outputs must be float32 or float16");
  }
  DeviceScope scope(c.device);
  key_stride_ = next_pow2(c.anchors);
  box_stride_ = std::min(c.anchors, kMaxNmsCandidates);
  const size_t batch = static_cast<size_t>(c.max_batch);
  const size_t image_elems = 3 * static_cast<size_t>(c.input_w) * static_cast<size_t>(c.input_h);
  const size_t output_elems = static_cast<size_t>(c.channels) * static_cast<size_t>(c.anchors);
  input_.reserve(batch * image_elems * static_cast<size_t>(element_bytes(c.input_type)));
  output_.reserve(batch * output_elems * static_cast<size_t>(element_bytes(c.output_type)));
  col_taps_.reserve(batch * static_cast<size_t>(c.input_w) * sizeof(ResizeTap));
  row_taps_.reserve(batch * static_cast<size_t>(c.input_h) * sizeof(ResizeTap));
  counts_.reserve(batch * sizeof(uint32_t));
  keys_.reserve(batch * static_cast<size_t>(key_stride_) * sizeof(uint64_t));
  classes_.reserve(batch * static_cast<size_t>(c.anchors) * sizeof(int32_t));
  boxes_.reserve(batch * static_cast<size_t>(box_stride_) * nms_box_bytes());
  det_counts_.reserve(batch * sizeof(int32_t));
  host_counts_.reserve(batch * sizeof(int32_t));
  det_rows_.reserve(batch * static_cast<size_t>(std::max(c.max_det, 1)) * 6 * sizeof(float));
  host_rows_.reserve(det_rows_.size());
  stats_.reserve(batch * sizeof(DeviceImageStats));
  host_stats_.reserve(stats_.size());
  if (c.end_to_end) {
    e2e_values_.reserve(batch * output_elems * sizeof(float));
    e2e_keep_.reserve(batch * static_cast<size_t>(c.channels) * sizeof(int32_t));
  }
}

// A job that throws (a failed copy or launch, TensorRT's enqueue refusing, a bad option found late) may
// leave copies and kernels pending on the stream. They read the pinned staging and write the device
// buffers that the slot's next job reuses, so wait for them before the exception leaves the pipeline.
template <class Job>
auto GpuPipeline::run_job(Job&& job) -> decltype(job()) {
  throw_if_context_lost();
  try {
    return job();
  } catch (...) {
    drain();
    throw;
  }
}

void GpuPipeline::drain() noexcept {
  (void)cudaStreamSynchronize(stream_.get());
  (void)cudaGetLastError();
}

int GpuPipeline::checked_max_det(const PostParams& params) const {
  if (params.max_det < 0 || params.max_det > config_.max_det) {
    throw Error(code::kInvalidOption, "Expected maxDet between 0 and this detector's limit of " +
                                          std::to_string(config_.max_det) + " (the maxDet create option) but "
                                          "received " + std::to_string(params.max_det));
  }
  return params.max_det;
}

void GpuPipeline::check_batch(int n, const char* what) const {
  if (n < 1 || n > config_.max_batch) {
    throw Error(code::kInvalidOption, std::string(what) + ": expected 1 to " +
                                          std::to_string(config_.max_batch) + " images but received " +
                                          std::to_string(n));
  }
}

void GpuPipeline::upload_batch(const HostImage* images, int n, const int32_t* orig_sizes,
                               const PostParams& params, LetterboxGeometry* geometry) {
  const size_t count = static_cast<size_t>(n);
  const int nc = num_classes();
  if (!params.class_allowed.empty() && params.class_allowed.size() != static_cast<size_t>(nc)) {
    throw Error(code::kInternal, "GPU pipeline: class filter size does not match the model's classes");
  }
  // Layout: [jobs][orig sizes][class flags][pixels of image 0][pixels of image 1]...
  jobs_offset_ = 0;
  sizes_offset_ = align_up(jobs_offset_ + count * sizeof(LetterboxJob));
  flags_offset_ = align_up(sizes_offset_ + count * 2 * sizeof(int32_t));
  has_flags_ = !params.class_allowed.empty();
  size_t pixels_offset = align_up(flags_offset_ + (has_flags_ ? static_cast<size_t>(nc) : 0));
  std::vector<size_t> image_offsets(images != nullptr ? count : 0);
  size_t total = pixels_offset;
  for (size_t i = 0; i < image_offsets.size(); ++i) {
    image_offsets[i] = total;
    const size_t row =
        static_cast<size_t>(images[i].width) * static_cast<size_t>(pixel_channels(images[i].format));
    total = align_up(total + row * static_cast<size_t>(images[i].height));
  }
  staging_.reserve(total);
  batch_.reserve(total);

  auto* base = staging_.as<uint8_t>();
  auto* jobs = reinterpret_cast<LetterboxJob*>(base + jobs_offset_);
  auto* sizes = reinterpret_cast<int32_t*>(base + sizes_offset_);
  for (size_t i = 0; i < count; ++i) {
    sizes[2 * i] = orig_sizes != nullptr ? orig_sizes[2 * i] : images[i].width;
    sizes[2 * i + 1] = orig_sizes != nullptr ? orig_sizes[2 * i + 1] : images[i].height;
  }
  if (has_flags_) std::memcpy(base + flags_offset_, params.class_allowed.data(), params.class_allowed.size());
  for (size_t i = 0; i < image_offsets.size(); ++i) {
    const HostImage& img = images[i];
    const LetterboxGeometry g = letterbox_geometry(img.width, img.height, config_.input_w, config_.input_h);
    if (geometry != nullptr) geometry[i] = g;
    const size_t row = static_cast<size_t>(img.width) * static_cast<size_t>(pixel_channels(img.format));
    // Rows are packed tightly: less to upload when the caller's stride has padding.
    uint8_t* dst = base + image_offsets[i];
    if (img.stride == row) {
      std::memcpy(dst, img.data, row * static_cast<size_t>(img.height));
    } else {
      for (int y = 0; y < img.height; ++y)
        std::memcpy(dst + static_cast<size_t>(y) * row, img.data + static_cast<size_t>(y) * img.stride, row);
    }
    jobs[i] = LetterboxJob{static_cast<int64_t>(image_offsets[i]),
                           static_cast<int64_t>(row),
                           img.width,
                           img.height,
                           static_cast<int32_t>(img.format),
                           static_cast<int32_t>(resize_mode(img, g)),
                           g.new_w,
                           g.new_h,
                           g.left,
                           g.top};
  }
  staged_bytes_ = total;
}

void GpuPipeline::enqueue_upload() {
  check(cudaMemcpyAsync(batch_.get(), staging_.get(), staged_bytes_, cudaMemcpyHostToDevice, stream_.get()),
        "cudaMemcpyAsync(image batch)");
}

void GpuPipeline::enqueue_letterbox(int n, ElementType type, void* dst, bool stats) {
  const cudaStream_t s = stream_.get();
  const auto* jobs = reinterpret_cast<const LetterboxJob*>(batch_.as<uint8_t>() + jobs_offset_);
  const size_t stats_bytes = static_cast<size_t>(n) * sizeof(DeviceImageStats);
  if (stats) check(cudaMemsetAsync(stats_.get(), 0, stats_bytes, s), "cudaMemsetAsync(image statistics)");
  launch_resize_taps(jobs, n, config_.input_w, config_.input_h, col_taps_.as<ResizeTap>(),
                     row_taps_.as<ResizeTap>(), s);
  DeviceImageStats* accums = stats ? stats_.as<DeviceImageStats>() : nullptr;
  launch_letterbox(jobs, n, batch_.as<uint8_t>(), col_taps_.as<ResizeTap>(), row_taps_.as<ResizeTap>(),
                   config_.input_w, config_.input_h, type, dst, accums, s);
  if (stats) {
    check(cudaMemcpyAsync(host_stats_.get(), stats_.get(), stats_bytes, cudaMemcpyDeviceToHost, s),
          "cudaMemcpyAsync(image statistics)");
  }
}

void GpuPipeline::collect_stats(int n, ImageStatsAccum* out) const {
  const auto* device = host_stats_.as<DeviceImageStats>();
  for (int i = 0; i < n; ++i) {
    uint64_t terms[kImageStatsTerms];
    for (int k = 0; k < kImageStatsTerms; ++k) terms[k] = device[i].terms[k];
    image_stats_reset(&out[i]);
    image_stats_add_terms(&out[i], terms, device[i].luma_hist);
  }
}

void GpuPipeline::enqueue_end_to_end(int n, const PostParams& params, int max_det) {
  const cudaStream_t s = stream_.get();
  const uint8_t* flags = has_flags_ ? batch_.as<uint8_t>() + flags_offset_ : nullptr;
  const EndToEndParams p{n,
                         config_.channels,
                         config_.num_classes,
                         params.conf,
                         flags,
                         max_det,
                         config_.input_w,
                         config_.input_h,
                         reinterpret_cast<const int32_t*>(batch_.as<uint8_t>() + sizes_offset_)};
  launch_end_to_end(output_.get(), config_.output_type, p, e2e_values_.as<float>(), e2e_keep_.as<int32_t>(),
                    det_rows_.as<float>(), det_counts_.as<int32_t>(), s);
}

void GpuPipeline::enqueue_postprocess(int n, const PostParams& params) {
  const cudaStream_t s = stream_.get();
  const int max_det = checked_max_det(params);
  if (config_.end_to_end) {
    enqueue_end_to_end(n, params, max_det);
  } else {
    enqueue_classic(n, params, max_det);
  }
  check(cudaMemcpyAsync(host_counts_.get(), det_counts_.get(), static_cast<size_t>(n) * sizeof(int32_t),
                        cudaMemcpyDeviceToHost, s),
        "cudaMemcpyAsync(detection counts)");
  check(cudaMemcpyAsync(host_rows_.get(), det_rows_.get(),
                        static_cast<size_t>(n) * static_cast<size_t>(max_det) * 6 * sizeof(float),
                        cudaMemcpyDeviceToHost, s),
        "cudaMemcpyAsync(detections)");
}

void GpuPipeline::enqueue_classic(int n, const PostParams& params, int max_det) {
  const cudaStream_t s = stream_.get();
  check(cudaMemsetAsync(counts_.get(), 0, static_cast<size_t>(n) * sizeof(uint32_t), s),
        "cudaMemsetAsync(counts)");
  const uint8_t* flags = has_flags_ ? batch_.as<uint8_t>() + flags_offset_ : nullptr;
  const DecodeParams dp{n, config_.channels, config_.anchors, params.conf, flags, key_stride_};
  launch_decode(output_.get(), config_.output_type, dp, counts_.as<uint32_t>(), keys_.as<uint64_t>(),
                classes_.as<int32_t>(), s);
  const NmsParams np{n,
                     config_.channels,
                     config_.anchors,
                     params.iou,
                     max_det,
                     params.agnostic,
                     config_.input_w,
                     config_.input_h,
                     reinterpret_cast<const int32_t*>(batch_.as<uint8_t>() + sizes_offset_),
                     key_stride_,
                     box_stride_};
  launch_sort_nms(output_.get(), config_.output_type, np, counts_.as<uint32_t>(), keys_.as<uint64_t>(),
                  classes_.as<int32_t>(), boxes_.get(), det_rows_.as<float>(), det_counts_.as<int32_t>(), s);
}

std::vector<Rows> GpuPipeline::collect_rows(int n, int max_det) {
  std::vector<Rows> out(static_cast<size_t>(n));
  const auto* counts = host_counts_.as<int32_t>();
  const auto* rows = host_rows_.as<float>();
  for (int i = 0; i < n; ++i) {
    if (counts[i] < 0) {  // end-to-end: row -1 - count has a class column that is not a class id
      throw Error(code::kInference, "End-to-end output of image " + std::to_string(i) + ", row " +
                                        std::to_string(-1 - counts[i]) + ": the class column is not a class id in 0.." +
                                        std::to_string(num_classes() - 1) +
                                        " (is this a detect model's [B, K, 6] output?)");
    }
    const int k = std::min(counts[i], max_det);
    const float* r = rows + static_cast<size_t>(i) * static_cast<size_t>(max_det) * 6;
    out[static_cast<size_t>(i)].assign(r, r + static_cast<size_t>(k) * 6);
  }
  return out;
}

std::vector<Rows> GpuPipeline::detect(const HostImage* images, int n, const PostParams& params,
                                      InferenceStep& infer, StageTimes* times, double* stats_out) {
  return run_job([&]() {
    check_batch(n, "detect");
    (void)checked_max_det(params);
    DeviceScope scope(config_.device);
    const auto t0 = std::chrono::steady_clock::now();
    const cudaStream_t s = stream_.get();
    upload_batch(images, n, nullptr, params, nullptr);
    // Host packing is timed on the host; GPU stages by events, from the upload on (the GPU idles while
    // the host packs, so an event recorded before packing would count that twice).
    const double pack_ms = ms_since(t0);
    start_.record(s);
    enqueue_upload();
    enqueue_letterbox(n, config_.input_type, input_.get(), stats_out != nullptr);
    preprocessed_.record(s);
    infer.enqueue(n, input_.get(), output_.get(), s);
    inferred_.record(s);
    enqueue_postprocess(n, params);
    finished_.record(s);
    stream_.synchronize("GPU pipeline");
    if (times != nullptr) {
      times->preprocess_ms = pack_ms + preprocessed_.elapsed_since(start_);
      times->inference_ms = inferred_.elapsed_since(preprocessed_);
      times->postprocess_ms = finished_.elapsed_since(inferred_);
    }
    std::vector<Rows> rows = collect_rows(n, std::max(params.max_det, 0));
    if (stats_out != nullptr) {
      std::vector<ImageStatsAccum> accums(static_cast<size_t>(n));
      collect_stats(n, accums.data());
      for (size_t i = 0; i < accums.size(); ++i) {
        image_stats_finish(&accums[i], stats_out + i * kImageStatsCount);
      }
    }
    return rows;
  });
}

std::vector<Rows> GpuPipeline::detect_tensor(const float* tensor, int n, const PostParams& params,
                                             InferenceStep& infer, StageTimes* times) {
  return run_job([&]() {
    check_batch(n, "detectTensor");
    (void)checked_max_det(params);
    DeviceScope scope(config_.device);
    const cudaStream_t s = stream_.get();
    // Boxes stay in network-input pixels: scale_boxes with the input size as the "original" size is the
    // identity followed by the clamp.
    std::vector<int32_t> sizes(2 * static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      sizes[2 * static_cast<size_t>(i)] = config_.input_w;
      sizes[2 * static_cast<size_t>(i) + 1] = config_.input_h;
    }
    upload_batch(nullptr, n, sizes.data(), params, nullptr);
    start_.record(s);
    enqueue_upload();
    const size_t elems = static_cast<size_t>(n) * 3 * static_cast<size_t>(config_.input_w) *
                         static_cast<size_t>(config_.input_h);
    if (config_.input_type == ElementType::kFloat32) {
      check(cudaMemcpyAsync(input_.get(), tensor, elems * sizeof(float), cudaMemcpyHostToDevice, s),
            "cudaMemcpyAsync(input tensor)");
    } else {
      tensor_.reserve(elems * sizeof(float));
      check(cudaMemcpyAsync(tensor_.get(), tensor, elems * sizeof(float), cudaMemcpyHostToDevice, s),
            "cudaMemcpyAsync(input tensor)");
      launch_convert_input(tensor_.as<float>(), static_cast<int64_t>(elems), config_.input_type, input_.get(),
                           s);
    }
    preprocessed_.record(s);
    infer.enqueue(n, input_.get(), output_.get(), s);
    inferred_.record(s);
    enqueue_postprocess(n, params);
    finished_.record(s);
    stream_.synchronize("GPU pipeline");
    if (times != nullptr) {
      times->preprocess_ms = preprocessed_.elapsed_since(start_);
      times->inference_ms = inferred_.elapsed_since(preprocessed_);
      times->postprocess_ms = finished_.elapsed_since(inferred_);
    }
    return collect_rows(n, std::max(params.max_det, 0));
  });
}

void GpuPipeline::letterbox_to_host(const HostImage* images, int n, ElementType type, void* host_out,
                                    LetterboxGeometry* geometry, ImageStatsAccum* stats_out) {
  return run_job([&]() {
    check_batch(n, "letterbox");
    DeviceScope scope(config_.device);
    const size_t bytes = static_cast<size_t>(n) * 3 * static_cast<size_t>(config_.input_w) *
                         static_cast<size_t>(config_.input_h) * static_cast<size_t>(element_bytes(type));
    tensor_.reserve(bytes);
    upload_batch(images, n, nullptr, PostParams{}, geometry);
    enqueue_upload();
    enqueue_letterbox(n, type, tensor_.get(), stats_out != nullptr);
    check(cudaMemcpyAsync(host_out, tensor_.get(), bytes, cudaMemcpyDeviceToHost, stream_.get()),
          "cudaMemcpyAsync(letterboxed tensor)");
    stream_.synchronize("letterbox");
    if (stats_out != nullptr) collect_stats(n, stats_out);
  });
}

std::vector<Rows> GpuPipeline::postprocess_host(const float* raw, int n, const int32_t* orig_sizes,
                                                const PostParams& params) {
  return run_job([&]() {
    check_batch(n, "postprocess");
    (void)checked_max_det(params);
    if (config_.output_type != ElementType::kFloat32) {
      throw Error(code::kInternal, "postprocess_host needs a float32 output pipeline");
    }
    DeviceScope scope(config_.device);
    const cudaStream_t s = stream_.get();
    upload_batch(nullptr, n, orig_sizes, params, nullptr);
    enqueue_upload();
    check(cudaMemcpyAsync(output_.get(), raw,
                          static_cast<size_t>(n) * static_cast<size_t>(config_.channels) *
                              static_cast<size_t>(config_.anchors) * sizeof(float),
                          cudaMemcpyHostToDevice, s),
          "cudaMemcpyAsync(raw outputs)");
    enqueue_postprocess(n, params);
    stream_.synchronize("postprocess");
    return collect_rows(n, std::max(params.max_det, 0));
  });
}

std::vector<float> GpuPipeline::time_letterbox(const HostImage* images, int n, int iterations, bool stats) {
  return run_job([&]() {
    check_batch(n, "time_letterbox");
    DeviceScope scope(config_.device);
    const cudaStream_t s = stream_.get();
    upload_batch(images, n, nullptr, PostParams{}, nullptr);
    enqueue_upload();
    enqueue_letterbox(n, config_.input_type, input_.get(), stats);  // warm-up
    std::vector<float> us;
    us.reserve(static_cast<size_t>(iterations));
    for (int i = 0; i < iterations; ++i) {
      start_.record(s);
      enqueue_letterbox(n, config_.input_type, input_.get(), stats);
      finished_.record(s);
      stream_.synchronize("time_letterbox");
      us.push_back(finished_.elapsed_since(start_) * 1000.0f);
    }
    return us;
  });
}

std::vector<float> GpuPipeline::time_postprocess(const float* raw, int n, const int32_t* orig_sizes,
                                                 const PostParams& params, int iterations) {
  return run_job([&]() {
    (void)postprocess_host(raw, n, orig_sizes, params);  // uploads raw outputs and warms up
    DeviceScope scope(config_.device);
    const cudaStream_t s = stream_.get();
    std::vector<float> us;
    us.reserve(static_cast<size_t>(iterations));
    for (int i = 0; i < iterations; ++i) {
      start_.record(s);
      enqueue_postprocess(n, params);
      finished_.record(s);
      stream_.synchronize("time_postprocess");
      us.push_back(finished_.elapsed_since(start_) * 1000.0f);
    }
    return us;
  });
}

}  // namespace yolo::cuda
