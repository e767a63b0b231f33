// Base of every slow native call: an AsyncWorker that owns a Promise::Deferred. Run() executes on a libuv
// worker thread and must not touch JS values; Result() builds the resolved value on the JS thread.
// Every exception from Run() is caught: a yolo::Error rejects with its code, anything else with
// ERR_INTERNAL. The rejection is an Error whose `code` property carries that code (and `deviceLost: true`
// when the CUDA context of the process is lost).
#pragma once

#include <napi.h>

#include <string>

namespace yolo::addon {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, const char* resource_name);
  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  virtual void Run() = 0;
  virtual Napi::Value Result(Napi::Env env) = 0;

 private:
  void Execute() final;
  void OnOK() final;
  void OnError(const Napi::Error& error) final;

  Napi::Promise::Deferred deferred_;
  const char* code_;
  bool device_lost_ = false;  // a sticky CUDA error: the rejection carries deviceLost: true
};

// Queues a worker built by `make` (which may throw a coded Napi::Error while reading arguments) and
// returns its promise; an argument error becomes a rejected promise, never a synchronous throw.
template <class MakeWorker>
Napi::Value queue_promise_worker(Napi::Env env, MakeWorker&& make) {
  PromiseWorker* worker = nullptr;
  try {
    worker = make();
  } catch (const Napi::Error& e) {
    Napi::Promise::Deferred rejected = Napi::Promise::Deferred::New(env);
    rejected.Reject(e.Value());
    return rejected.Promise();
  }
  Napi::Promise promise = worker->Promise();
  worker->Queue();  // the worker deletes itself after OnOK/OnError
  return promise;
}

}  // namespace yolo::addon
