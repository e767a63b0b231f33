// The TensorRT detector: one engine, a pool of execution slots (each an IExecutionContext with its own
// stream and GPU pipeline buffers), and detect() calls that each borrow a slot. Concurrent calls from
// different worker threads run in parallel, one per slot. Callers never wait for a slot: the JS queue
// admits at most `contexts` calls, and a call beyond that fails (slot_pool.h).
#pragma once

#include <memory>
#include <vector>

#include "cuda/gpu_pipeline.h"
#include "slot_pool.h"
#include "trt_engine.h"

namespace yolo::trt {

struct DetectorOptions {
  int contexts = 2;   // execution slots (>= 1)
  int max_batch = 0;  // images per run; 0 = the engine's maximum
  int max_det = 300;  // most detections per image a call may ask for (buffers sized at creation)
  int num_classes = 0;  // end-to-end engines: classes of the model (class ids are checked against it)
};

class Detector {
 public:
  Detector(std::shared_ptr<Engine> engine, const DetectorOptions& options);
  ~Detector();
  Detector(const Detector&) = delete;
  Detector& operator=(const Detector&) = delete;

  const EngineIo& io() const noexcept { return engine_->io(); }
  int max_batch() const noexcept { return max_batch_; }
  int contexts() const noexcept { return static_cast<int>(slots_.size()); }
  // Classes of the model: 4 + nc channels, or the caller's count for end-to-end engines.
  int num_classes() const noexcept { return num_classes_; }
  int max_det() const noexcept { return max_det_; }

  // With `stats_out` (n * kImageStatsCount doubles): each image's content statistics, measured by the
  // letterbox kernel (cuda::GpuPipeline::detect).
  std::vector<cuda::Rows> detect(const cuda::HostImage* images, int n, const cuda::PostParams& params,
                                 cuda::StageTimes* times, double* stats_out = nullptr);
  std::vector<cuda::Rows> detect_tensor(const float* tensor, int n, const cuda::PostParams& params,
                                        cuda::StageTimes* times);

 private:
  struct Slot;
  class Lease;

  // Declaration order is destruction order reversed: slots (contexts) go before the engine.
  std::shared_ptr<Engine> engine_;
  int max_batch_ = 1;
  int num_classes_ = 0;
  int max_det_ = 300;
  std::vector<std::unique_ptr<Slot>> slots_;
  SlotPool<Slot> pool_;
};

}  // namespace yolo::trt
