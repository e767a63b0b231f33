// Request plumbing of the TensorRT binding that needs no GPU: the slot pool never waits for a slot
// (native/trt/slot_pool.h), and a request drops its engine reference on its worker thread even when it
// fails (native/addon/release_on_worker.h).
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "addon/release_on_worker.h"
#include "cases.h"
#include "core/error.h"
#include "trt/slot_pool.h"

namespace yolo::gpu_cases {

void register_slot_cases(const Paths&) {
  add_case("execution slots", "acquire beyond the contexts fails at once with ERR_INTERNAL", []() -> std::string {
    trt::SlotPool<int> pool;
    int a = 0, b = 1;
    pool.add(&a);
    pool.add(&b);
    int* x = pool.acquire();
    int* y = pool.acquire();
    if (x == y) return "the same slot was handed out twice";
    try {
      (void)pool.acquire();
      return "a third acquire on two contexts did not fail";
    } catch (const Error& e) {
      if (std::string(e.code()) != code::kInternal) return std::string("threw ") + e.code();
    }
    pool.release(x);
    if (pool.acquire() != x) return "a released slot was not handed out again";
    return "";
  });

  // The engine stand-in records the thread that destroys it.
  struct Probe {
    std::thread::id* destroyed_on;
    ~Probe() { *destroyed_on = std::this_thread::get_id(); }
  };
  for (const bool fails : {false, true}) {
    add_case("execution slots",
             std::string("a request ") + (fails ? "that fails" : "that succeeds") +
                 " after dispose() frees the engine on its worker thread",
             [fails]() -> std::string {
               std::thread::id destroyed_on;
               auto js_reference = std::make_shared<Probe>(Probe{&destroyed_on});
               auto request_reference = std::make_shared<std::shared_ptr<Probe>>(js_reference);
               js_reference.reset();  // dispose(): the JS side lets go first
               std::thread::id worker_id;
               std::thread worker([&]() {
                 worker_id = std::this_thread::get_id();
                 try {
                   addon::run_then_release(*request_reference, [&](Probe&) {
                     if (fails) throw Error(code::kInference, "TensorRT enqueueV3 failed");
                     return 0;
                   });
                 } catch (const Error&) {
                 }
               });
               worker.join();
               const bool freed_on_worker = destroyed_on == worker_id;
               request_reference.reset();  // where the finished worker object is deleted: the JS thread
               return freed_on_worker ? "" : "the engine was freed on the JS thread, not the worker";
             });
  }
}

}  // namespace yolo::gpu_cases
