// A TensorRT logger that only records. TensorRT reports failures (a plan built by another version, an
// unsupported ONNX node) through the logger and then returns null; we keep the messages so the error we
// throw can say why. It never prints, exits or aborts: we live inside a server process.
//
// One Logger per builder or runtime, so concurrent builds do not mix their messages.
#pragma once

#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "trt_version.h"

namespace yolo::trt {

class Logger final : public nvinfer1::ILogger {
 public:
  // Messages at `keep` severity or worse are kept (the newest kMaxKept of them).
  explicit Logger(Severity keep = Severity::kWARNING) : keep_(keep) {}

  void log(Severity severity, nvinfer1::AsciiChar const* msg) noexcept override;

  // The kept errors (kINTERNAL_ERROR/kERROR), oldest first, joined with "; " (empty if none).
  std::string errors() const;
  // Every kept message with its severity, oldest first.
  std::vector<std::string> messages() const;
  void clear();

 private:
  static constexpr size_t kMaxKept = 64;
  struct Entry {
    Severity severity;
    std::string text;
  };
  Severity keep_;
  mutable std::mutex mutex_;
  std::deque<Entry> entries_;
};

}  // namespace yolo::trt
