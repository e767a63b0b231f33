// The execution slots of a TensorRT detector, handed out without ever waiting. The JS side (Slots in
// src/backends/tensorrt.ts) admits at most `contexts` calls at a time, so a free slot always exists when
// a call reaches native code. If the two ever fell out of step, waiting here would park a libuv worker
// thread (there are only four by default, shared with file I/O, DNS and every other model), so acquire()
// fails loudly with ERR_INTERNAL instead. No TensorRT types: the emulated GPU tests exercise it.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "core/error.h"

namespace yolo::trt {

template <class Slot>
class SlotPool {
 public:
  void add(Slot* slot) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(slot);
    ++size_;
  }

  Slot* acquire() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (free_.empty()) {
      throw Error(code::kInternal, "internal error: all " + std::to_string(size_) +
                                       " execution contexts are busy; the request queue let more calls "
                                       "through than there are contexts");
    }
    Slot* slot = free_.back();
    free_.pop_back();
    return slot;
  }

  void release(Slot* slot) noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(slot);
  }

  void clear() noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.clear();
  }

 private:
  std::mutex mutex_;
  std::vector<Slot*> free_;
  size_t size_ = 0;
};

}  // namespace yolo::trt
