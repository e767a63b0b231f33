// Jetson (integrated GPU, no NVML): GPU load, power and temperature from sysfs, memory from /proc/meminfo.
#pragma once

#include <string>

#include "gpu_metrics.h"

namespace yolo::addon {

// True when `root` (normally "/") looks like a Jetson: /etc/nv_tegra_release or a GPU load file exists.
// Then fills `out` (source "jetson", one device) with whatever the files provide; fields whose files are
// missing or unreadable stay null. Only reads files; never throws for a missing or malformed one.
bool read_jetson_metrics(const std::string& root, GpuMetricsSample* out);

}  // namespace yolo::addon
