// Jetson telemetry from sysfs (the files tegrastats reads). Jetsons have no NVML: the integrated GPU's load
// is a per-mille devfreq file, power comes from the INA3221 monitors on the module, temperature from a
// thermal zone, and the GPU shares RAM with the CPU, so its memory is /proc/meminfo's.
// Every path is under `root` so tests can point it at a fake tree.
#include "jetson_metrics.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace yolo::addon {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> read_text(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  // sysfs values end in '\n'; device-tree strings end in '\0'.
  while (!s.empty() && (std::isspace(static_cast<unsigned char>(s.back())) || s.back() == '\0')) s.pop_back();
  size_t start = 0;
  while (start < s.size() && std::isspace(static_cast<unsigned char>(s[start]))) ++start;
  return s.substr(start);
}

std::optional<double> read_number(const fs::path& path) {
  const std::optional<std::string> text = read_text(path);
  if (!text || text->empty()) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(text->c_str(), &end);
  if (end == text->c_str() || *end != '\0') return std::nullopt;
  return value;
}

bool file_exists(const fs::path& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

// Entries of `dir` (following symlinks, as sysfs device links need), sorted for a stable order; empty when
// `dir` is missing.
std::vector<fs::path> list_dir(const fs::path& dir) {
  std::vector<fs::path> entries;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    entries.push_back(it->path());
  std::sort(entries.begin(), entries.end());
  return entries;
}

bool starts_with(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The GPU's devfreq load file (0..1000). The fixed paths are the usual links; the devfreq scan finds the
// device by its platform name (57000000.gpu on Nano/TX1, 17000000.gp10b/gv11b/ga10b on TX2/Xavier/Orin).
std::optional<fs::path> find_gpu_load(const fs::path& root) {
  for (const char* rel : {"sys/devices/platform/gpu.0/load", "sys/devices/gpu.0/load"}) {
    if (file_exists(root / rel)) return root / rel;
  }
  for (const fs::path& entry : list_dir(root / "sys/class/devfreq")) {
    const std::string name = entry.filename().string();
    const size_t dot = name.find('.');
    if (dot == std::string::npos) continue;
    const std::string chip = name.substr(dot + 1);
    const bool gpu = chip == "gpu" || (chip.size() >= 4 && chip.front() == 'g' && chip.back() == 'b');
    if (gpu && file_exists(entry / "device/load")) return entry / "device/load";
  }
  return std::nullopt;
}

struct Rail {
  std::string label;
  double watts;
};

// Rails of the INA3221 monitors. Mainline hwmon driver: in<N>_label, in<N>_input (mV), curr<N>_input (mA)
// for channels 1..3 (channel 4/7 are sums), power<N>_input (uW) on kernels that add it. The older
// ina3221x IIO driver (JetPack 4): rail_name_<N> and in_power<N>_input (mW) for channels 0..2.
std::vector<Rail> read_power_rails(const fs::path& root) {
  std::vector<Rail> rails;
  for (const fs::path& chip : list_dir(root / "sys/bus/i2c/drivers/ina3221")) {
    for (const fs::path& hwmon : list_dir(chip / "hwmon")) {
      if (!starts_with(hwmon.filename().string(), "hwmon")) continue;
      for (int ch = 1; ch <= 3; ++ch) {
        const std::string n = std::to_string(ch);
        const std::string label = read_text(hwmon / ("in" + n + "_label")).value_or("");
        if (label.empty() || lower(label) == "nc") continue;  // "NC": channel not connected
        const std::optional<double> enabled = read_number(hwmon / ("in" + n + "_enable"));
        if (enabled && *enabled == 0) continue;
        if (const std::optional<double> uw = read_number(hwmon / ("power" + n + "_input"))) {
          rails.push_back({label, *uw / 1e6});
          continue;
        }
        const std::optional<double> mv = read_number(hwmon / ("in" + n + "_input"));
        const std::optional<double> ma = read_number(hwmon / ("curr" + n + "_input"));
        if (mv && ma) rails.push_back({label, *mv * *ma / 1e6});
      }
    }
  }
  for (const fs::path& chip : list_dir(root / "sys/bus/i2c/drivers/ina3221x")) {
    for (const fs::path& iio : list_dir(chip)) {
      if (!starts_with(iio.filename().string(), "iio:device")) continue;
      for (int ch = 0; ch <= 2; ++ch) {
        const std::string n = std::to_string(ch);
        const std::string label = read_text(iio / ("rail_name_" + n)).value_or("");
        const std::optional<double> mw = read_number(iio / ("in_power" + n + "_input"));
        if (!label.empty() && lower(label) != "nc" && mw) rails.push_back({label, *mw / 1e3});
      }
    }
  }
  return rails;
}

// Module input power: the VDD_IN rail where the module has one (POM_5V_IN on the Nano), else the sum of
// every rail (AGX Xavier/Orin measure their rails separately and have no input rail).
std::optional<double> total_power_watts(const std::vector<Rail>& rails) {
  if (rails.empty()) return std::nullopt;
  double input = 0, all = 0;
  bool has_input = false;
  for (const Rail& r : rails) {
    all += r.watts;
    if (r.label == "VDD_IN" || r.label == "POM_5V_IN") {
      input += r.watts;
      has_input = true;
    }
  }
  return has_input ? input : all;
}

// The GPU thermal zone in degrees C ('gpu-thermal' on Xavier/Orin, 'GPU-therm' on Nano/TX1/TX2).
std::optional<double> gpu_temperature(const fs::path& root) {
  for (const fs::path& zone : list_dir(root / "sys/class/thermal")) {
    if (!starts_with(zone.filename().string(), "thermal_zone")) continue;
    const std::string type = lower(read_text(zone / "type").value_or(""));
    if (type != "gpu-thermal" && type != "gpu-therm") continue;
    const std::optional<double> milli = read_number(zone / "temp");
    // An unpowered sensor reads -256 C on some boards: report nothing rather than that.
    if (milli && *milli > -100000) return *milli / 1000;
  }
  return std::nullopt;
}

// MemTotal and MemTotal - MemAvailable from /proc/meminfo, in bytes (the file is in kB = KiB).
void read_meminfo(const fs::path& root, GpuDeviceSample* dev) {
  std::ifstream in(root / "proc/meminfo");
  std::optional<double> total, available;
  std::string key;
  double kib = 0;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    if (!(fields >> key >> kib)) continue;
    if (key == "MemTotal:") total = kib * 1024;
    if (key == "MemAvailable:") available = kib * 1024;
  }
  dev->memory_total_bytes = total;
  if (total && available) dev->memory_used_bytes = *total - *available;
}

}  // namespace

bool read_jetson_metrics(const std::string& root_string, GpuMetricsSample* out) {
  const fs::path root(root_string);
  const std::optional<fs::path> load_path = find_gpu_load(root);
  if (!load_path && !file_exists(root / "etc/nv_tegra_release")) return false;

  GpuDeviceSample dev;
  dev.index = 0;
  dev.uuid = "jetson-0";
  dev.name = read_text(root / "proc/device-tree/model").value_or("");
  if (dev.name.empty()) dev.name = "NVIDIA Jetson";
  if (load_path) {
    if (const std::optional<double> permille = read_number(*load_path)) {
      dev.utilization = std::clamp(*permille / 1000, 0.0, 1.0);
    }
  }
  read_meminfo(root, &dev);
  dev.power_watts = total_power_watts(read_power_rails(root));
  dev.temperature_c = gpu_temperature(root);

  out->source = "jetson";
  out->reason.reset();
  out->devices.assign(1, dev);
  return true;
}

}  // namespace yolo::addon
