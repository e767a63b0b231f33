// yolo::Error: the one exception type native code throws. It carries a stable code string that the
// addon copies onto the JS Error (`err.code`), and that TS maps to YoloTrtError (src/errors.ts).
// Native code never exits or aborts: it lives inside a server process.
#pragma once

#include <stdexcept>
#include <string>

namespace yolo {

// Stable codes shared with src/errors.ts (ErrorCode). Never rename one.
namespace code {
constexpr const char* kInvalidOption = "ERR_INVALID_OPTION";
constexpr const char* kBadImage = "ERR_BAD_IMAGE";
constexpr const char* kInternal = "ERR_INTERNAL";
constexpr const char* kCuda = "ERR_CUDA";
constexpr const char* kNoCudaDriver = "ERR_NO_CUDA_DRIVER";
constexpr const char* kModelUnsupported = "ERR_MODEL_UNSUPPORTED";
constexpr const char* kEngineIncompatible = "ERR_ENGINE_INCOMPATIBLE";
constexpr const char* kInference = "ERR_INFERENCE";
}  // namespace code

class Error : public std::runtime_error {
 public:
  // `device_lost`: the GPU context of this process is unusable from now on (a sticky CUDA error, see
  // native/cuda/cuda_check.h); the addon sets `deviceLost: true` on the JS error.
  Error(const char* code, const std::string& message, bool device_lost = false)
      : std::runtime_error(message), code_(code), device_lost_(device_lost) {}
  // The code string; always one of yolo::code (a static string, never freed).
  const char* code() const noexcept { return code_; }
  bool device_lost() const noexcept { return device_lost_; }

 private:
  const char* code_;
  bool device_lost_;
};

}  // namespace yolo
