// gpuMetrics([{ sysfsRoot }]) -> Promise<NativeGpuMetrics> (src/native/binding.ts): live GPU telemetry for
// the server's /metrics. Present in every build variant: NVML is dlopen()ed at run time, Jetson values come
// from sysfs, so nothing here needs CUDA or NVML at build time. Every failure becomes a null field or
// source "none" with a reason; nothing throws past the worker, nothing exits.
#pragma once

#include <napi.h>

#include <optional>
#include <string>
#include <vector>

namespace yolo::addon {

// One GPU at one instant. A value the device or driver does not report is nullopt (JS null).
struct GpuDeviceSample {
  int index = 0;
  std::string uuid;  // NVML's "GPU-..." string, or "jetson-<index>"
  std::string name;
  std::optional<double> utilization;  // 0..1
  std::optional<double> memory_used_bytes;
  std::optional<double> memory_total_bytes;
  std::optional<double> power_watts;
  std::optional<double> temperature_c;
};

struct GpuMetricsSample {
  std::string source = "none";        // "nvml" | "jetson" | "none"
  std::optional<std::string> reason;  // why source is "none"
  std::vector<GpuDeviceSample> devices;
};

Napi::Value GpuMetrics(const Napi::CallbackInfo& info);

}  // namespace yolo::addon
