// gpuMetrics(): NVML read through dlopen(), Jetson sysfs as the fallback (jetson_metrics.cpp).
//
// NVML (libnvidia-ml.so.1) ships with the NVIDIA driver, not the CUDA toolkit, so the addon never links it:
// it is opened once on first use and its few C entry points resolved by name. The types below are the
// documented NVML ABI (nvml.h): nvmlReturn_t is a C enum (int, 0 = NVML_SUCCESS), nvmlDevice_t an opaque
// pointer, nvmlUtilization_t {gpu, memory} in percent, nvmlMemory_t {total, free, used} in bytes, power in
// milliwatts, temperature sensor 0 = NVML_TEMPERATURE_GPU.
//
// YOLO_TRT_NVML_PATH (tests only) replaces the library path: test/native/gpu-metrics.test.ts points it at a
// fake NVML built from C. Like the real path, it is read once, at the first gpuMetrics() call.
#include "gpu_metrics.h"

#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../core/error.h"
#include "jetson_metrics.h"
#include "js_args.h"
#include "promise_worker.h"

#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#else
#include <dlfcn.h>
#endif

namespace yolo::addon {
namespace {

// ---- the run-time library loader ---------------------------------------------------------------------
#if defined(_WIN32)
constexpr const char* kDefaultNvmlPath = "nvml.dll";  // System32 on current drivers
void* open_library(const std::string& path, std::string* error) {
  HMODULE h = LoadLibraryA(path.c_str());
  if (h == nullptr) *error = path + ": LoadLibrary error " + std::to_string(GetLastError());
  return reinterpret_cast<void*>(h);
}
void* find_symbol(void* library, const char* name) {
  return reinterpret_cast<void*>(GetProcAddress(static_cast<HMODULE>(library), name));
}
#else
constexpr const char* kDefaultNvmlPath = "libnvidia-ml.so.1";
void* open_library(const std::string& path, std::string* error) {
  // RTLD_LOCAL: NVML's symbols stay out of the global namespace of the Node process.
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    const char* why = dlerror();
    *error = why != nullptr ? why : path + ": dlopen failed";
  }
  return h;
}
void* find_symbol(void* library, const char* name) {
  return dlsym(library, name);
}
#endif

// ---- NVML ---------------------------------------------------------------------------------------------
using NvmlReturn = int;  // nvmlReturn_t
struct NvmlDeviceOpaque;
using NvmlDevice = NvmlDeviceOpaque*;  // nvmlDevice_t
struct NvmlUtilization {               // nvmlUtilization_t
  unsigned int gpu;
  unsigned int memory;
};
struct NvmlMemory {  // nvmlMemory_t (v1)
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
constexpr NvmlReturn kNvmlSuccess = 0;
constexpr unsigned int kNvmlTemperatureGpu = 0;  // NVML_TEMPERATURE_GPU
constexpr unsigned int kNvmlStringSize = 96;     // NVML_DEVICE_NAME_V2_BUFFER_SIZE, ..._UUID_V2_...

// The resolved entry points; `error` is empty once NVML is open and initialised.
//
// nvmlShutdown is deliberately not used: NVML stays initialised for the life of the process. Init costs
// far more than a query (it opens the driver), scrapes come every few seconds, and the driver releases
// NVML when the process exits.
struct Nvml {
  NvmlReturn (*init)() = nullptr;
  NvmlReturn (*device_count)(unsigned int*) = nullptr;
  NvmlReturn (*device_handle)(unsigned int, NvmlDevice*) = nullptr;
  NvmlReturn (*device_name)(NvmlDevice, char*, unsigned int) = nullptr;
  NvmlReturn (*device_uuid)(NvmlDevice, char*, unsigned int) = nullptr;
  NvmlReturn (*utilization)(NvmlDevice, NvmlUtilization*) = nullptr;
  NvmlReturn (*memory)(NvmlDevice, NvmlMemory*) = nullptr;
  NvmlReturn (*power_mw)(NvmlDevice, unsigned int*) = nullptr;
  NvmlReturn (*temperature)(NvmlDevice, unsigned int, unsigned int*) = nullptr;  // sensor is an enum (int)
  const char* (*error_string)(NvmlReturn) = nullptr;
  std::string error;

  std::string describe(NvmlReturn rc) const {
    const char* text = error_string != nullptr ? error_string(rc) : nullptr;
    return std::string(text != nullptr ? text : "NVML error") + " (" + std::to_string(rc) + ")";
  }
};

template <class Fn>
bool resolve(void* library, const char* name, Fn* fn, std::string* missing) {
  *fn = reinterpret_cast<Fn>(find_symbol(library, name));
  if (*fn == nullptr && missing->empty()) *missing = name;
  return *fn != nullptr;
}

Nvml open_nvml(const std::string& path) {
  Nvml nvml;
  std::string error;
  void* library = open_library(path, &error);  // never closed: the function pointers must stay valid
  if (library == nullptr) {
    nvml.error = "NVML is not available (" + error + ")";
    return nvml;
  }
  std::string missing;
  resolve(library, "nvmlInit_v2", &nvml.init, &missing);
  resolve(library, "nvmlDeviceGetCount_v2", &nvml.device_count, &missing);
  resolve(library, "nvmlDeviceGetHandleByIndex_v2", &nvml.device_handle, &missing);
  resolve(library, "nvmlDeviceGetName", &nvml.device_name, &missing);
  resolve(library, "nvmlDeviceGetUUID", &nvml.device_uuid, &missing);
  resolve(library, "nvmlDeviceGetUtilizationRates", &nvml.utilization, &missing);
  resolve(library, "nvmlDeviceGetMemoryInfo", &nvml.memory, &missing);
  resolve(library, "nvmlDeviceGetPowerUsage", &nvml.power_mw, &missing);
  resolve(library, "nvmlDeviceGetTemperature", &nvml.temperature, &missing);
  resolve(library, "nvmlErrorString", &nvml.error_string, &missing);
  if (!missing.empty()) {
    nvml.error = "NVML at " + path + " lacks " + missing + " (driver too old?)";
    return nvml;
  }
  const NvmlReturn rc = nvml.init();
  if (rc != kNvmlSuccess) nvml.error = "nvmlInit_v2 failed: " + nvml.describe(rc);
  return nvml;
}

// Opened and initialised once, on the first call (thread-safe static initialisation); later calls reuse
// it whatever path they pass.
const Nvml& nvml_once(const std::string& path) {
  static const Nvml nvml = open_nvml(path);
  return nvml;
}

std::string nvml_string(NvmlReturn (*get)(NvmlDevice, char*, unsigned int), NvmlDevice dev) {
  char buffer[kNvmlStringSize] = {};
  if (get(dev, buffer, kNvmlStringSize) != kNvmlSuccess) return "";
  buffer[kNvmlStringSize - 1] = '\0';
  return buffer;
}

// Fills `out` with source "nvml" when NVML reports at least one device; otherwise returns why not.
std::string read_nvml(const std::string& path, GpuMetricsSample* out) {
  const Nvml& nvml = nvml_once(path);
  if (!nvml.error.empty()) return nvml.error;
  unsigned int count = 0;
  const NvmlReturn rc = nvml.device_count(&count);
  if (rc != kNvmlSuccess) return "nvmlDeviceGetCount_v2 failed: " + nvml.describe(rc);
  if (count == 0) return "NVML reports no GPU";

  std::vector<GpuDeviceSample> devices;
  std::string skipped;
  for (unsigned int i = 0; i < count; ++i) {
    NvmlDevice dev = nullptr;
    const NvmlReturn handle_rc = nvml.device_handle(i, &dev);
    if (handle_rc != kNvmlSuccess) {  // e.g. a GPU this container may not see
      skipped = "GPU " + std::to_string(i) + ": " + nvml.describe(handle_rc);
      continue;
    }
    GpuDeviceSample d;
    d.index = static_cast<int>(i);
    d.uuid = nvml_string(nvml.device_uuid, dev);
    if (d.uuid.empty()) d.uuid = "GPU-" + std::to_string(i);
    d.name = nvml_string(nvml.device_name, dev);
    // Any other return (NOT_SUPPORTED on many boards, NO_PERMISSION, GPU_IS_LOST) leaves the field null.
    NvmlUtilization util{};
    if (nvml.utilization(dev, &util) == kNvmlSuccess) d.utilization = util.gpu / 100.0;
    NvmlMemory mem{};
    if (nvml.memory(dev, &mem) == kNvmlSuccess) {
      d.memory_total_bytes = static_cast<double>(mem.total);
      d.memory_used_bytes = static_cast<double>(mem.used);
    }
    unsigned int milliwatts = 0;
    if (nvml.power_mw(dev, &milliwatts) == kNvmlSuccess) d.power_watts = milliwatts / 1000.0;
    unsigned int celsius = 0;
    if (nvml.temperature(dev, kNvmlTemperatureGpu, &celsius) == kNvmlSuccess) d.temperature_c = celsius;
    devices.push_back(std::move(d));
  }
  if (devices.empty())
    return "NVML lists " + std::to_string(count) + " GPU(s) but none can be opened (" + skipped + ")";
  out->source = "nvml";
  out->reason.reset();
  out->devices = std::move(devices);
  return "";
}

// ---- the worker -------------------------------------------------------------------------------------
Napi::Value number_or_null(Napi::Env env, const std::optional<double>& v) {
  return v ? Napi::Number::New(env, *v) : env.Null();
}

class GpuMetricsWorker final : public PromiseWorker {
 public:
  GpuMetricsWorker(Napi::Env env, const Napi::Value& options) : PromiseWorker(env, "yolo_trt.gpuMetrics") {
    if (!options.IsUndefined() && !options.IsNull()) {
      if (!options.IsObject()) throw_expected(env, code::kInvalidOption, "an object", "options", options);
      const Napi::Value root = options.As<Napi::Object>().Get("sysfsRoot");
      if (!root.IsUndefined()) {
        if (!root.IsString() || root.As<Napi::String>().Utf8Value().empty()) {
          throw_expected(env, code::kInvalidOption, "a non-empty string", "options.sysfsRoot", root);
        }
        sysfs_root_ = root.As<Napi::String>().Utf8Value();
      }
    }
    // Read on the JS thread: process.env writes (setenv) happen there too.
    const char* override_path = std::getenv("YOLO_TRT_NVML_PATH");
    nvml_path_ = override_path != nullptr && *override_path != '\0' ? override_path : kDefaultNvmlPath;
  }

 protected:
  void Run() override {
    try {
      if (!sysfs_root_.empty()) {
        // Tests: only the fake tree counts, so the result does not depend on the machine's own GPU.
        if (!read_jetson_metrics(sysfs_root_, &sample_)) {
          sample_.reason = "no Jetson GPU files under " + sysfs_root_;
        }
        return;
      }
      // NVML first: it also covers a discrete GPU on a Tegra board (IGX, Clara); Jetsons have no NVML.
      const std::string nvml_reason = read_nvml(nvml_path_, &sample_);
      if (sample_.source == "nvml") return;
      if (read_jetson_metrics("/", &sample_)) return;
      sample_.reason = nvml_reason + "; not a Jetson (no /etc/nv_tegra_release, no GPU load file)";
    } catch (const std::exception& e) {  // bad_alloc and the like: still an answer, not a rejection
      sample_ = GpuMetricsSample{};
      sample_.reason = std::string("internal error: ") + e.what();
    }
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object result = Napi::Object::New(env);
    result.Set("source", Napi::String::New(env, sample_.source));
    result.Set("reason", sample_.reason ? Napi::String::New(env, *sample_.reason) : env.Null());
    Napi::Array devices = Napi::Array::New(env, sample_.devices.size());
    for (size_t i = 0; i < sample_.devices.size(); ++i) {
      const GpuDeviceSample& d = sample_.devices[i];
      Napi::Object dev = Napi::Object::New(env);
      dev.Set("index", Napi::Number::New(env, d.index));
      dev.Set("uuid", Napi::String::New(env, d.uuid));
      dev.Set("name", Napi::String::New(env, d.name));
      dev.Set("utilization", number_or_null(env, d.utilization));
      dev.Set("memoryUsedBytes", number_or_null(env, d.memory_used_bytes));
      dev.Set("memoryTotalBytes", number_or_null(env, d.memory_total_bytes));
      dev.Set("powerWatts", number_or_null(env, d.power_watts));
      dev.Set("temperatureC", number_or_null(env, d.temperature_c));
      devices.Set(static_cast<uint32_t>(i), dev);
    }
    result.Set("devices", devices);
    return result;
  }

 private:
  std::string sysfs_root_;  // empty: the real machine
  std::string nvml_path_;
  GpuMetricsSample sample_;
};

}  // namespace

Napi::Value GpuMetrics(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return queue_promise_worker(env, [&]() -> PromiseWorker* {
    auto worker = std::make_unique<GpuMetricsWorker>(env, info[0]);
    return worker.release();
  });
}

}  // namespace yolo::addon
