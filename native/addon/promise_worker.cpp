#include "promise_worker.h"

#include <exception>
#include <new>

#include "../core/error.h"

namespace yolo::addon {

PromiseWorker::PromiseWorker(Napi::Env env, const char* resource_name)
    : Napi::AsyncWorker(env, resource_name), deferred_(Napi::Promise::Deferred::New(env)), code_(code::kInternal) {}

void PromiseWorker::Execute() {
  try {
    Run();
  } catch (const yolo::Error& e) {
    code_ = e.code();
    device_lost_ = e.device_lost();
    SetError(e.what());
  } catch (const std::bad_alloc&) {
    code_ = code::kInternal;
    SetError("out of memory");
  } catch (const std::exception& e) {
    code_ = code::kInternal;
    SetError(std::string("internal error: ") + e.what());
  } catch (...) {
    code_ = code::kInternal;
    SetError("internal error: unknown exception");
  }
}

void PromiseWorker::OnOK() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  try {
    deferred_.Resolve(Result(env));
  } catch (const Napi::Error& e) {
    // Building the result failed on the JS thread (e.g. an allocation RangeError).
    Napi::Object err = e.Value();
    if (!err.Has("code")) err.Set("code", Napi::String::New(env, code::kInternal));
    deferred_.Reject(err);
  } catch (const std::exception& e) {
    Napi::Error err = Napi::Error::New(env, std::string("internal error: ") + e.what());
    err.Set("code", Napi::String::New(env, code::kInternal));
    deferred_.Reject(err.Value());
  }
}

void PromiseWorker::OnError(const Napi::Error& error) {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  Napi::Object err = error.Value();
  err.Set("code", Napi::String::New(env, code_));
  if (device_lost_) err.Set("deviceLost", Napi::Boolean::New(env, true));
  deferred_.Reject(err);
}

}  // namespace yolo::addon
