// Runs the GPU case matrix (see cases.h) and prints a table per group and a closing
// "N passed, M failed" line; exits 1 on any failure.
//
//   gpu_cases --fixtures DIR --unpacked DIR [--filter TEXT] [--list]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <string>
#include <vector>

#include "cases.h"
#include "core/error.h"

namespace yolo::gpu_cases {
namespace {

struct Case {
  std::string group;
  std::string name;
  CaseFn run;
};

std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}

// The case groups, in run order. A new group is one line here plus its file.
using Register = void (*)(const Paths&);
const Register kGroups[] = {
    register_letterbox_cases,   register_image_stats_cases,   register_pipeline_cases,
    register_postprocess_cases, register_end_to_end_cases,    register_engine_layout_cases,
    register_engine_io_cases,   register_slot_cases,          register_fault_cases,
};

}  // namespace

void add_case(const std::string& group, const std::string& name, CaseFn fn) {
  registry().push_back(Case{group, name, std::move(fn)});
}

}  // namespace yolo::gpu_cases

int main(int argc, char** argv) {
  using namespace yolo::gpu_cases;
  Paths paths;
  std::string filter;
  bool list = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--fixtures" && i + 1 < argc) {
      paths.fixtures = argv[++i];
    } else if (a == "--unpacked" && i + 1 < argc) {
      paths.unpacked = argv[++i];
    } else if (a == "--filter" && i + 1 < argc) {
      filter = argv[++i];
    } else if (a == "--list") {
      list = true;
    } else {
      std::fprintf(stderr, "usage: %s --fixtures DIR --unpacked DIR [--filter TEXT] [--list]\n", argv[0]);
      return 2;
    }
  }
  if (paths.fixtures.empty() || paths.unpacked.empty()) {
    std::fprintf(stderr, "gpu_cases: --fixtures and --unpacked are required\n");
    return 2;
  }
  try {
    for (Register r : kGroups) r(paths);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpu_cases: could not set up the cases: %s\n", e.what());
    return 1;
  }

  struct GroupStats {
    int passed = 0;
    int failed = 0;
    double seconds = 0;
  };
  std::map<std::string, GroupStats> stats;
  std::vector<std::string> order;
  int passed = 0;
  int failed = 0;
  for (const Case& c : registry()) {
    const std::string full = c.group + " / " + c.name;
    if (!filter.empty() && full.find(filter) == std::string::npos) continue;
    if (list) {
      std::printf("%s\n", full.c_str());
      continue;
    }
    if (stats.count(c.group) == 0) order.push_back(c.group);
    const auto t0 = std::chrono::steady_clock::now();
    std::string failure;
    try {
      failure = c.run();
    } catch (const yolo::Error& e) {
      failure = std::string("threw ") + e.code() + ": " + e.what();
    } catch (const std::exception& e) {
      failure = std::string("threw: ") + e.what();
    }
    GroupStats& g = stats[c.group];
    g.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (failure.empty()) {
      ++g.passed;
      ++passed;
    } else {
      ++g.failed;
      ++failed;
      std::printf("FAIL %s: %s\n", full.c_str(), failure.c_str());
    }
    std::fflush(stdout);
  }
  if (list) return 0;
  std::printf("\n%-40s %8s %8s %10s\n", "group", "passed", "failed", "seconds");
  for (const std::string& name : order) {
    const GroupStats& g = stats[name];
    std::printf("%-40s %8d %8d %10.2f\n", name.c_str(), g.passed, g.failed, g.seconds);
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}
