// The TensorRT detector's slot pool (native/trt/slot_pool.h): it never waits for a slot, it fails.
#include <string>

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
}

}  // namespace yolo::gpu_cases
