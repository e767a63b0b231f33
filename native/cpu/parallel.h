// A tiny fork-join helper: run fn(i) for every i in [0, n) on up to `threads` std::threads (the calling
// thread is one of them). Items are taken from a shared counter, so uneven items balance themselves.
// The first exception thrown by any item is rethrown in the caller after every thread has joined.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace yolo::cpu {

template <class Fn>
void parallel_for(size_t n, int threads, Fn&& fn) {
  if (n == 0) return;
  const size_t workers = std::min(n, static_cast<size_t>(std::max(threads, 1)));
  if (workers == 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr first_error;
  std::mutex error_mutex;
  auto run = [&]() {
    for (;;) {
      if (failed.load(std::memory_order_relaxed)) return;
      const size_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= n) return;
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!first_error) first_error = std::current_exception();
        failed.store(true, std::memory_order_relaxed);
      }
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  for (size_t t = 0; t + 1 < workers; ++t) {
    try {
      pool.emplace_back(run);
    } catch (const std::system_error&) {
      break;  // could not start another thread: the ones we have (and this one) do the work
    }
  }
  run();
  for (auto& th : pool) th.join();
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace yolo::cpu
