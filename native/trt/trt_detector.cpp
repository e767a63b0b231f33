#include "trt_detector.h"

#include <string>

#include "core/error.h"
#include "cuda/cuda_raii.h"

namespace yolo::trt {

// An execution context and the GPU pipeline whose buffers it reads and writes. The context is declared
// last so it is destroyed first, before the buffers its tensor addresses point at.
struct Detector::Slot {
  std::unique_ptr<cuda::GpuPipeline> pipeline;
  Ptr<nvinfer1::IExecutionContext> context;
  int bound_batch = -1;  // the input shape currently set on the context
};

// Returns the slot to the pool however the request ends.
class Detector::Lease {
 public:
  Lease(Detector& owner) : owner_(owner), slot_(owner.pool_.acquire()) {}
  ~Lease() { owner_.pool_.release(slot_); }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  Slot& operator*() const noexcept { return *slot_; }
  Slot* operator->() const noexcept { return slot_; }

 private:
  Detector& owner_;
  Slot* slot_;
};

namespace {

// Inference on one slot: set the batch shape when it changes, bind the pipeline's buffers, enqueueV3.
class ContextStep final : public cuda::InferenceStep {
 public:
  ContextStep(Engine& engine, Ptr<nvinfer1::IExecutionContext>& context, int& bound_batch)
      : engine_(engine), context_(*context), bound_batch_(bound_batch) {}

  void enqueue(int batch, void* input, void* output, cudaStream_t stream) override {
    const EngineIo& io = engine_.io();
    // A fixed-batch engine always runs its full batch; the unused images are ignored afterwards.
    const int run_batch = io.dynamic_batch ? batch : io.max_batch;
    if (bound_batch_ != run_batch) {
      if (!context_.setInputShape(io.input_name.c_str(),
                                  nvinfer1::Dims4{run_batch, 3, io.input_h, io.input_w})) {
        throw Error(code::kInference,
                    "TensorRT refused batch " + std::to_string(run_batch) + ": " + engine_.take_errors());
      }
      bound_batch_ = run_batch;
    }
    if (!context_.setTensorAddress(io.input_name.c_str(), input) ||
        !context_.setTensorAddress(io.output_name.c_str(), output)) {
      throw Error(code::kInference, "TensorRT refused the tensor addresses: " + engine_.take_errors());
    }
    // enqueueV3 exists from TensorRT 8.5 (the oldest we support, see trt_version.h) through 11.
    if (!context_.enqueueV3(stream)) {
      throw Error(code::kInference, "TensorRT enqueueV3 failed: " + engine_.take_errors());
    }
  }

 private:
  Engine& engine_;
  nvinfer1::IExecutionContext& context_;
  int& bound_batch_;
};

}  // namespace

Detector::Detector(std::shared_ptr<Engine> engine, const DetectorOptions& options)
    : engine_(std::move(engine)) {
  const EngineIo& io = engine_->io();
  if (options.contexts < 1) {
    throw Error(code::kInvalidOption,
                "Expected contexts >= 1 but received " + std::to_string(options.contexts));
  }
  if (options.max_batch < 0 || options.max_batch > io.max_batch) {
    throw Error(code::kInvalidOption, "Expected maxBatch between 1 and the engine's " +
                                          std::to_string(io.max_batch) + " but received " +
                                          std::to_string(options.max_batch));
  }
  // A fixed-batch engine writes its whole batch, so its buffers are sized for it.
  max_batch_ = io.dynamic_batch && options.max_batch > 0 ? options.max_batch : io.max_batch;
  cuda::DeviceScope scope(engine_->device());
  cuda::PipelineConfig pc;
  pc.device = engine_->device();
  pc.max_batch = io.dynamic_batch ? max_batch_ : io.max_batch;
  pc.input_w = io.input_w;
  pc.input_h = io.input_h;
  pc.input_type = io.input_type;
  pc.channels = io.channels;
  pc.anchors = io.anchors;
  pc.output_type = io.output_type;
  pc.end_to_end = io.end_to_end;
  num_classes_ = io.end_to_end ? options.num_classes : io.channels - 4;
  if (num_classes_ < 1) {
    throw Error(code::kInvalidOption, "An end-to-end engine needs numClasses >= 1 (the model's class count)");
  }
  pc.num_classes = num_classes_;
  pc.max_det = options.max_det;
  max_det_ = options.max_det;
  for (int i = 0; i < options.contexts; ++i) {
    auto slot = std::make_unique<Slot>();
    slot->pipeline = std::make_unique<cuda::GpuPipeline>(pc);
    slot->context = engine_->create_context();
    pool_.add(slot.get());
    slots_.push_back(std::move(slot));
  }
}

Detector::~Detector() {
  // Callers (the addon) wait for in-flight requests before destroying a detector; nothing to join here.
  pool_.clear();
}

std::vector<cuda::Rows> Detector::detect(const cuda::HostImage* images, int n, const cuda::PostParams& params,
                                         cuda::StageTimes* times, double* stats_out) {
  Lease slot(*this);
  ContextStep step(*engine_, slot->context, slot->bound_batch);
  return slot->pipeline->detect(images, n, params, step, times, stats_out);
}

std::vector<cuda::Rows> Detector::detect_tensor(const float* tensor, int n, const cuda::PostParams& params,
                                                cuda::StageTimes* times) {
  Lease slot(*this);
  ContextStep step(*engine_, slot->context, slot->bound_batch);
  return slot->pipeline->detect_tensor(tensor, n, params, step, times);
}

}  // namespace yolo::trt
