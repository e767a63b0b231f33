// trimNativeHeap(): hands memory that malloc keeps after free() back to the OS.
//
// glibc keeps freed memory in its arenas (one per thread that allocated, up to 8 x cores) for reuse.
// A detector swap frees a whole onnxruntime session and the buffers its worker thread and intra-op
// threads used; glibc keeps those pages mapped, and the next session, running on new threads, mostly
// allocates elsewhere, so RSS grew by megabytes per swap. malloc_trim(0) walks every arena and returns
// free pages (madvise), the same memory any later malloc can still reuse. It takes a few ms on a large
// heap and holds arena locks meanwhile, so it runs on a libuv worker thread, never on the JS thread.
// Elsewhere (musl, macOS, Windows) there is nothing to do: the promise resolves with false.
#include <napi.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "promise_worker.h"

namespace yolo::addon {
namespace {

class TrimWorker final : public PromiseWorker {
 public:
  explicit TrimWorker(Napi::Env env) : PromiseWorker(env, "yolo_trt:trimNativeHeap") {}

 protected:
  void Run() override {
#if defined(__GLIBC__)
    released_ = malloc_trim(0) != 0;
#endif
  }
  Napi::Value Result(Napi::Env env) override { return Napi::Boolean::New(env, released_); }

 private:
  bool released_ = false;
};

Napi::Value TrimNativeHeap(const Napi::CallbackInfo& info) {
  return queue_promise_worker(info.Env(), [&] { return new TrimWorker(info.Env()); });
}

}  // namespace

void register_memory(Napi::Env env, Napi::Object exports) {
  exports.Set("trimNativeHeap", Napi::Function::New(env, TrimNativeHeap, "trimNativeHeap"));
}

}  // namespace yolo::addon
