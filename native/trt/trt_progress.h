// Build progress and cancellation through TensorRT's IProgressMonitor (TensorRT >= 10). Engine builds
// take minutes on a Jetson: the CLI shows these phases, and a cancelled build stops at the next step.
#pragma once

#include "trt_version.h"

#if YOLO_TRT_HAS_PROGRESS_MONITOR

#include <atomic>
#include <functional>

#include "trt_build.h"

namespace yolo::trt {

class ProgressMonitor final : public nvinfer1::IProgressMonitor {
 public:
  ProgressMonitor(std::function<void(const BuildProgress&)> sink, const std::atomic<bool>* cancel)
      : sink_(std::move(sink)), cancel_(cancel) {}

  void phaseStart(char const* phase, char const* parent, int32_t steps) noexcept override {
    emit(BuildProgress::Kind::kPhaseStart, phase, parent, steps, 0);
  }
  bool stepComplete(char const* phase, int32_t step) noexcept override {
    emit(BuildProgress::Kind::kStep, phase, nullptr, 0, step);
    // Returning false asks TensorRT to stop the build; buildSerializedNetwork then returns null.
    return cancel_ == nullptr || !cancel_->load(std::memory_order_relaxed);
  }
  void phaseFinish(char const* phase) noexcept override {
    emit(BuildProgress::Kind::kPhaseFinish, phase, nullptr, 0, 0);
  }

 private:
  void emit(BuildProgress::Kind kind, char const* phase, char const* parent, int steps, int step) noexcept {
    if (!sink_) return;
    try {
      BuildProgress p{kind, phase != nullptr ? phase : "", parent != nullptr ? parent : "", steps, step};
      sink_(p);
    } catch (...) {
      // Progress is informational; a failing sink must not fail (or unwind through) the build.
    }
  }
  std::function<void(const BuildProgress&)> sink_;
  const std::atomic<bool>* cancel_;
};

}  // namespace yolo::trt

#endif  // YOLO_TRT_HAS_PROGRESS_MONITOR
