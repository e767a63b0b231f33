#include "trt_logger.h"

namespace yolo::trt {

namespace {
const char* severity_name(nvinfer1::ILogger::Severity s) {
  switch (s) {
    case nvinfer1::ILogger::Severity::kINTERNAL_ERROR:
      return "internal error";
    case nvinfer1::ILogger::Severity::kERROR:
      return "error";
    case nvinfer1::ILogger::Severity::kWARNING:
      return "warning";
    case nvinfer1::ILogger::Severity::kINFO:
      return "info";
    case nvinfer1::ILogger::Severity::kVERBOSE:
      return "verbose";
  }
  return "unknown";
}
}  // namespace

void Logger::log(Severity severity, nvinfer1::AsciiChar const* msg) noexcept {
  // Lower enum values are more severe.
  if (static_cast<int>(severity) > static_cast<int>(keep_) || msg == nullptr) return;
  try {
    std::lock_guard<std::mutex> lock(mutex_);
    if (entries_.size() == kMaxKept) entries_.pop_front();
    entries_.push_back(Entry{severity, std::string(msg)});
  } catch (...) {
    // Out of memory while logging: dropping the message is the only safe choice in a noexcept callback.
  }
}

std::string Logger::errors() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  for (const Entry& e : entries_) {
    if (e.severity != Severity::kERROR && e.severity != Severity::kINTERNAL_ERROR) continue;
    if (!out.empty()) out += "; ";
    out += e.text;
  }
  return out;
}

std::vector<std::string> Logger::messages() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const Entry& e : entries_) out.push_back(std::string(severity_name(e.severity)) + ": " + e.text);
  return out;
}

void Logger::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.clear();
}

}  // namespace yolo::trt
