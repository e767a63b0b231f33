// Error paths, by fault injection through the emulated CUDA runtime (native/cuda/emulation): which CUDA
// errors are sticky, what a sticky error does to every later call, that a non-sticky one fails one call
// only, that a failed call leaves its stream idle, and that no call allocates device memory. Emulation
// only: a real GPU cannot be made to fail on demand.
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cuda/cuda_check.h"
#include "cuda/launch.h"
#include "support.h"

namespace yolo::gpu_cases {
namespace {

// A fresh "process": no armed faults, no lost context.
void fresh_process() {
  emulation::reset_faults();
  cuda::lost_context_error().store(static_cast<int>(cudaSuccess));
}

struct Fixture {
  std::vector<float> raw;
  OwnedImage image;
  cuda::PipelineConfig config;
};

Fixture bus_fixture(const Paths& paths) {
  const RecordedOutputs& rec = recorded_outputs(paths);
  size_t bus = 0;
  while (rec.keys[bus] != "bus") ++bus;
  Fixture f{rec.raw[bus], make_image(rec.sizes[2 * bus], rec.sizes[2 * bus + 1], PixelFormat::kRGB, 0, 1), {}};
  f.config.channels = rec.channels;
  f.config.anchors = rec.anchors;
  return f;
}

// One detect call compared with the CPU path ("" when equal).
std::string detect_matches(cuda::GpuPipeline& pipeline, const Fixture& f, const cuda::PostParams& params) {
  FakeInference step(f.raw.data(), f.raw.size() * sizeof(float), 3 * 640 * 640 * sizeof(float));
  const std::vector<cuda::Rows> gpu = pipeline.detect(&f.image.view, 1, params, step, nullptr);
  const std::vector<int32_t> sizes = {f.image.view.width, f.image.view.height};
  return compare_rows(gpu, cpu_postprocess(f.raw.data(), 1, f.config.channels, f.config.anchors, 640, 640, sizes,
                                           params));
}

// Runs `call`, expecting a yolo::Error with `code` and the given device-lost flag; "" when so.
template <class F>
std::string expect_error(F&& call, const char* code, bool device_lost, const std::string& mentions = "") {
  try {
    call();
  } catch (const Error& e) {
    if (std::string(e.code()) != code) return std::string("threw ") + e.code() + " (" + e.what() + "), expected " + code;
    if (e.device_lost() != device_lost) return std::string("device_lost ") + (device_lost ? "unset: " : "set: ") + e.what();
    if (!mentions.empty() && std::string(e.what()).find(mentions) == std::string::npos)
      return std::string("message does not mention '") + mentions + "': " + e.what();
    return "";
  }
  return std::string("did not throw, expected ") + code;
}

// Inference that enqueues slow work on the stream and then fails, like a TensorRT enqueue that gave up
// half way.
__global__ void slow_kernel(int milliseconds) {
  std::this_thread::sleep_for(std::chrono::milliseconds(milliseconds));
}
class FailingInference final : public cuda::InferenceStep {
 public:
  void enqueue(int, void*, void*, cudaStream_t stream) override {
    cuda::launch("slow_kernel", slow_kernel, dim3(1), dim3(1), stream, 300);
    throw Error(code::kInference, "TensorRT enqueueV3 failed: injected");
  }
};

}  // namespace

void register_fault_cases(const Paths& paths) {
  const std::string group = "faults: CUDA errors";

  add_case(group, "sticky and non-sticky errors are classified as CUDA documents them", []() -> std::string {
    const cudaError_t sticky[] = {cudaErrorIllegalAddress,      cudaErrorLaunchFailure,     cudaErrorLaunchTimeout,
                                  cudaErrorAssert,              cudaErrorHardwareStackError, cudaErrorIllegalInstruction,
                                  cudaErrorMisalignedAddress,   cudaErrorInvalidAddressSpace, cudaErrorInvalidPc,
                                  cudaErrorECCUncorrectable};
    const cudaError_t plain[] = {cudaErrorInvalidValue, cudaErrorMemoryAllocation, cudaErrorInvalidConfiguration,
                                 cudaErrorLaunchOutOfResources, cudaErrorNotReady, cudaErrorInsufficientDriver};
    for (cudaError_t e : sticky)
      if (!cuda::is_sticky_error(e)) return std::string(cudaGetErrorName(e)) + " not classified sticky";
    for (cudaError_t e : plain)
      if (cuda::is_sticky_error(e)) return std::string(cudaGetErrorName(e)) + " classified sticky";
    return "";
  });

  const struct {
    const char* name;
    const char* call;
    int skip;
    cudaError_t error;
  } plain[] = {
      {"out of memory in an upload fails one call, the next succeeds", "cudaMemcpyAsync", 0, cudaErrorMemoryAllocation},
      {"a bad launch configuration fails one call, the next succeeds", "cudaGetLastError", 1, cudaErrorInvalidConfiguration},
      {"out of resources at the NMS launch fails one call, the next succeeds", "cudaGetLastError", 3,
       cudaErrorLaunchOutOfResources},
  };
  for (const auto& p : plain) {
    add_case(group, p.name, [p, &paths]() -> std::string {
      fresh_process();
      const Fixture f = bus_fixture(paths);
      cuda::GpuPipeline pipeline(f.config);
      emulation::inject_fault(p.call, p.skip, p.error);
      std::string r = expect_error([&] { (void)detect_matches(pipeline, f, cuda::PostParams{}); }, code::kCuda, false,
                                   cudaGetErrorName(p.error));
      if (r.empty() && cuda::context_lost()) r = "the context was marked lost";
      if (r.empty()) r = detect_matches(pipeline, f, cuda::PostParams{});
      fresh_process();
      return r;
    });
  }

  const struct {
    const char* name;
    const char* call;
    int skip;
    cudaError_t error;
  } sticky[] = {
      {"an illegal address at the sync poisons every later call", "cudaStreamSynchronize", 0, cudaErrorIllegalAddress},
      {"a launch failure reported at a launch poisons every later call", "cudaGetLastError", 2, cudaErrorLaunchFailure},
  };
  for (const auto& s : sticky) {
    add_case(group, s.name, [s, &paths]() -> std::string {
      fresh_process();
      const Fixture f = bus_fixture(paths);
      auto pipeline = std::make_unique<cuda::GpuPipeline>(f.config);
      auto other = std::make_unique<cuda::GpuPipeline>(f.config);
      emulation::inject_fault(s.call, s.skip, s.error);
      std::string r = expect_error([&] { (void)detect_matches(*pipeline, f, cuda::PostParams{}); }, code::kCuda, true,
                                   "restart the process");
      if (r.empty() && !cuda::context_lost()) r = "the context was not marked lost";
      // The same slot, another slot, and a new pipeline all fail at once, naming the first error.
      if (r.empty())
        r = expect_error([&] { (void)detect_matches(*pipeline, f, cuda::PostParams{}); }, code::kCuda, true,
                         cudaGetErrorName(s.error));
      if (r.empty())
        r = expect_error([&] { (void)detect_matches(*other, f, cuda::PostParams{}); }, code::kCuda, true,
                         "restart the process");
      if (r.empty())
        r = expect_error([&] { cuda::GpuPipeline fresh(f.config); }, code::kCuda, true, "restart the process");
      pipeline.reset();
      other.reset();
      fresh_process();
      return r;
    });
  }

  add_case(group, "a failed inference step leaves the slot's stream idle", [&paths]() -> std::string {
    fresh_process();
    const Fixture f = bus_fixture(paths);
    cuda::GpuPipeline pipeline(f.config);
    FailingInference failing;
    std::string r = expect_error([&] { (void)pipeline.detect(&f.image.view, 1, cuda::PostParams{}, failing, nullptr); },
                                 code::kInference, false);
    // Without the drain the slow kernel is still queued or running: the next request would rewrite the
    // pinned staging under it.
    if (r.empty() && cudaStreamQuery(pipeline.stream()) != cudaSuccess) r = "the stream still has pending work";
    if (r.empty()) r = detect_matches(pipeline, f, cuda::PostParams{});
    return r;
  });

  add_case(group, "a failed upload leaves the slot's stream idle", [&paths]() -> std::string {
    fresh_process();
    const Fixture f = bus_fixture(paths);
    cuda::GpuPipeline pipeline(f.config);
    (void)detect_matches(pipeline, f, cuda::PostParams{});
    emulation::reset_counters();
    emulation::inject_fault("cudaMemcpyAsync", 1, cudaErrorInvalidValue);  // the fake step's output copy
    std::string r = expect_error([&] { (void)detect_matches(pipeline, f, cuda::PostParams{}); }, code::kCuda, false);
    if (r.empty() && emulation::fault_state().stream_syncs == 0) r = "the failed call never synchronized its stream";
    fresh_process();
    return r;
  });

  const std::string limits = "faults: maxDet limit and allocations";
  add_case(limits, "maxDet above the limit is refused, naming the limit", [&paths]() -> std::string {
    fresh_process();
    const Fixture f = bus_fixture(paths);
    cuda::PipelineConfig c = f.config;
    c.max_det = 50;
    cuda::GpuPipeline pipeline(c);
    cuda::PostParams p;
    p.max_det = 51;
    std::string r = expect_error([&] { (void)detect_matches(pipeline, f, p); }, code::kInvalidOption, false, "50");
    p.max_det = 50;
    if (r.empty()) r = detect_matches(pipeline, f, p);
    return r;
  });
  add_case(limits, "a limit above the NMS cap of 30000 is refused", [&paths]() -> std::string {
    const Fixture f = bus_fixture(paths);
    cuda::PipelineConfig c = f.config;
    c.max_det = 30001;
    return expect_error([&] { cuda::GpuPipeline pipeline(c); }, code::kInvalidOption, false, "30000");
  });
  add_case(limits, "growing maxDet per call allocates nothing", [&paths]() -> std::string {
    fresh_process();
    const Fixture f = bus_fixture(paths);
    cuda::PipelineConfig c = f.config;
    c.max_det = 30000;
    cuda::GpuPipeline pipeline(c);
    cuda::PostParams p;
    p.max_det = 1;
    std::string r = detect_matches(pipeline, f, p);  // first call: staging sized for this image
    emulation::reset_counters();
    for (int m : {300, 30000, 7}) {
      p.max_det = m;
      if (r.empty()) r = detect_matches(pipeline, f, p);
    }
    const emulation::FaultState& s = emulation::fault_state();
    if (r.empty() && (s.allocations != 0 || s.frees != 0))
      r = std::to_string(s.allocations) + " cudaMalloc and " + std::to_string(s.frees) + " cudaFree on the hot path";
    return r;
  });
}

}  // namespace yolo::gpu_cases
