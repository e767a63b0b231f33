// The GPU case matrix: named cases in groups, each comparing the GPU path (kernels, GpuPipeline, a fake
// inference step) with the CPU path bit for bit. The same program runs emulated on the CPU (HIP-CPU, in
// CI) and on a real GPU (nvcc, scripts/gpu-check). A case group is one register_* function in its own
// file, listed in main.cpp's table.
#pragma once

#include <functional>
#include <string>

namespace yolo::gpu_cases {

// Where the fixtures are: the repository's test/fixtures and the folder the runner script unpacked the
// gzipped ones into (same names without .gz).
struct Paths {
  std::string fixtures;
  std::string unpacked;
};

// A case returns "" when it passed, else what differed (first mismatch). Exceptions fail the case.
using CaseFn = std::function<std::string()>;

void add_case(const std::string& group, const std::string& name, CaseFn fn);

// One register_* per case group (one file each).
void register_letterbox_cases(const Paths& paths);
void register_image_stats_cases(const Paths& paths);  // statistics of the letterbox kernel
void register_pipeline_cases(const Paths& paths);
void register_postprocess_cases(const Paths& paths);
void register_end_to_end_cases(const Paths& paths);
void register_engine_layout_cases(const Paths& paths);  // TensorRT shape rules, no TensorRT needed
void register_engine_io_cases(const Paths& paths);
void register_slot_cases(const Paths& paths);
void register_fault_cases(const Paths& paths);  // emulation only: faults are injected through the shim

}  // namespace yolo::gpu_cases
