// A request's reference to an engine must be dropped on the libuv worker thread that ran the request,
// however the request ends. If the request fails after dispose() (the JS side already let go of its
// reference), that reference is the last one, and dropping it destroys the execution contexts, device
// buffers and engine: cudaFree and TensorRT teardown that would stall the event loop if they ran on the
// JS thread, where the finished worker object itself is deleted.
#pragma once

#include <memory>

namespace yolo::addon {

// Runs job(*ref) and resets `ref` before returning or throwing, on the calling thread.
template <class T, class Job>
auto run_then_release(std::shared_ptr<T>& ref, Job&& job) -> decltype(job(*ref)) {
  struct Release {
    std::shared_ptr<T>& ref;
    ~Release() { ref.reset(); }
  } release{ref};
  return job(*ref);
}

}  // namespace yolo::addon
