// Move-only owners of CUDA resources: a stream, an event, device memory, pinned host memory, and the
// current-device scope. Constructors throw yolo::Error (see cuda_check.h); destructors never throw and
// ignore errors (a destructor that runs during unwinding must not throw, and there is nothing useful to do
// with a failed free).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <utility>

#include "cuda_check.h"

namespace yolo::cuda {

class Stream {
 public:
  Stream() { check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate"); }
  ~Stream() {
    if (stream_ != nullptr) (void)cudaStreamDestroy(stream_);
  }
  Stream(Stream&& o) noexcept : stream_(std::exchange(o.stream_, nullptr)) {}
  Stream& operator=(Stream&& o) noexcept {
    if (this != &o) {
      if (stream_ != nullptr) (void)cudaStreamDestroy(stream_);
      stream_ = std::exchange(o.stream_, nullptr);
    }
    return *this;
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  cudaStream_t get() const noexcept { return stream_; }
  void synchronize(const char* what = "cudaStreamSynchronize") const {
    check(cudaStreamSynchronize(stream_), what);
  }

 private:
  cudaStream_t stream_ = nullptr;
};

class Event {
 public:
  // Timing events are what the pipeline records its stage times with.
  explicit Event(bool timing = true) {
    check(cudaEventCreateWithFlags(&event_, timing ? cudaEventDefault : cudaEventDisableTiming),
          "cudaEventCreate");
  }
  ~Event() {
    if (event_ != nullptr) (void)cudaEventDestroy(event_);
  }
  Event(Event&& o) noexcept : event_(std::exchange(o.event_, nullptr)) {}
  Event& operator=(Event&& o) noexcept {
    if (this != &o) {
      if (event_ != nullptr) (void)cudaEventDestroy(event_);
      event_ = std::exchange(o.event_, nullptr);
    }
    return *this;
  }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  cudaEvent_t get() const noexcept { return event_; }
  void record(cudaStream_t stream) const { check(cudaEventRecord(event_, stream), "cudaEventRecord"); }
  // Milliseconds from `start` to this event; both must have completed.
  float elapsed_since(const Event& start) const {
    float ms = 0.0f;
    check(cudaEventElapsedTime(&ms, start.event_, event_), "cudaEventElapsedTime");
    return ms;
  }

 private:
  cudaEvent_t event_ = nullptr;
};

namespace detail {
struct DeviceAllocator {
  static void allocate(void** ptr, size_t bytes) { check(cudaMalloc(ptr, bytes), "cudaMalloc"); }
  static void free(void* ptr) noexcept { (void)cudaFree(ptr); }
};
struct PinnedAllocator {
  static void allocate(void** ptr, size_t bytes) {
    check(cudaHostAlloc(ptr, bytes, cudaHostAllocDefault), "cudaHostAlloc");
  }
  static void free(void* ptr) noexcept { (void)cudaFreeHost(ptr); }
};
}  // namespace detail

// Memory that only grows: reserve() reallocates when a larger size is asked for. Move-only.
template <class Allocator>
class GrowingBuffer {
 public:
  GrowingBuffer() = default;
  explicit GrowingBuffer(size_t bytes) { reserve(bytes); }
  ~GrowingBuffer() { release(); }
  GrowingBuffer(GrowingBuffer&& o) noexcept
      : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  GrowingBuffer& operator=(GrowingBuffer&& o) noexcept {
    if (this != &o) {
      release();
      ptr_ = std::exchange(o.ptr_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }
  GrowingBuffer(const GrowingBuffer&) = delete;
  GrowingBuffer& operator=(const GrowingBuffer&) = delete;

  void reserve(size_t bytes) {
    if (bytes <= bytes_) return;
    release();
    Allocator::allocate(&ptr_, bytes);
    bytes_ = bytes;
  }
  void* get() const noexcept { return ptr_; }
  template <class T>
  T* as() const noexcept {
    return static_cast<T*>(ptr_);
  }
  size_t size() const noexcept { return bytes_; }

 private:
  void release() noexcept {
    if (ptr_ != nullptr) Allocator::free(ptr_);
    ptr_ = nullptr;
    bytes_ = 0;
  }
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// Device memory.
using DeviceBuffer = GrowingBuffer<detail::DeviceAllocator>;
// Page-locked host memory: the staging area async copies need to really be async.
using PinnedBuffer = GrowingBuffer<detail::PinnedAllocator>;

// Makes `device` current for this thread and restores the previous one on scope exit (libuv worker
// threads are shared with other work, and TensorRT objects belong to the device they were made on).
class DeviceScope {
 public:
  explicit DeviceScope(int device) {
    check(cudaGetDevice(&previous_), "cudaGetDevice");
    if (previous_ != device) check(cudaSetDevice(device), "cudaSetDevice");
    changed_ = previous_ != device;
  }
  ~DeviceScope() {
    if (changed_) (void)cudaSetDevice(previous_);
  }
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  int previous_ = 0;
  bool changed_ = false;
};

}  // namespace yolo::cuda
