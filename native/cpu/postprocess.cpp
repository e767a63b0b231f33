// CPU postprocessing, one image at a time per thread. See postprocess.h and
// ../shared/docs/ULTRALYTICS.md "Postprocessing".
#include "postprocess.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "../core/decode.h"
#include "../core/error.h"
#include "../core/nms.h"
#include "../core/scale_boxes.h"
#include "parallel.h"

namespace yolo::cpu {
namespace {

struct Candidate {
  float score;
  int32_t anchor;
  int32_t cls;
};

// Per-thread scratch, reused across the images a thread handles.
struct Scratch {
  std::vector<float> best;
  std::vector<int32_t> best_cls;
  std::vector<Candidate> candidates;
  std::vector<BoxXYXY> boxes;  // offset boxes, candidate order
  std::vector<float> areas;
  std::vector<uint32_t> keep;
  std::vector<uint8_t> suppressed;
};

void postprocess_image(const float* raw, const PostprocessOptions& o, int32_t w0, int32_t h0, Scratch& s,
                       std::vector<Detection>& out) {
  const size_t n = static_cast<size_t>(o.anchors);
  const int nc = o.channels - 4;
  const float* scores = raw + 4 * n;

  // 1. Best class per anchor. Class-major so the inner loop runs over contiguous anchors (vectorizes);
  //    it applies class_score_beats in the same class order as anchor_best_class, so the result is the
  //    same first argmax.
  s.best.assign(scores, scores + n);
  s.best_cls.assign(n, 0);
  float* __restrict best = s.best.data();
  int32_t* __restrict best_cls = s.best_cls.data();
  constexpr size_t kTile = 1024;  // anchors per tile: best/best_cls of a tile stay in L1 across classes
  for (size_t a0 = 0; a0 < n; a0 += kTile) {
    const size_t a1 = std::min(n, a0 + kTile);
    for (int k = 1; k < nc; ++k) {
      const float* __restrict row = scores + static_cast<size_t>(k) * n;
      for (size_t a = a0; a < a1; ++a) {
        // Branch-free select so the loop vectorizes: mask is all ones where class k beats.
        const float v = row[a];
        const float b = best[a];
        const int32_t mask = -static_cast<int32_t>(class_score_beats(v, b));
        best[a] = class_score_beats(v, b) ? v : b;
        best_cls[a] = (best_cls[a] & ~mask) | (k & mask);
      }
    }
  }

  // 2. Candidates: score > conf, best class allowed.
  s.candidates.clear();
  const bool filter = !o.class_allowed.empty();
  for (size_t a = 0; a < n; ++a) {
    if (!passes_conf(best[a], o.conf)) continue;
    if (filter && !o.class_allowed[static_cast<size_t>(best_cls[a])]) continue;
    s.candidates.push_back(Candidate{best[a], static_cast<int32_t>(a), best_cls[a]});
  }

  // 3. Score descending, anchor ascending; keep the best kMaxNmsCandidates.
  auto before = [](const Candidate& a, const Candidate& b) {
    return candidate_before(a.score, a.anchor, b.score, b.anchor);
  };
  const size_t cap = static_cast<size_t>(kMaxNmsCandidates);
  if (s.candidates.size() > cap) {
    std::nth_element(s.candidates.begin(), s.candidates.begin() + static_cast<std::ptrdiff_t>(cap),
                     s.candidates.end(), before);
    s.candidates.resize(cap);
  }
  std::sort(s.candidates.begin(), s.candidates.end(), before);
  const size_t m = s.candidates.size();

  // 4. Offset boxes, areas, greedy NMS.
  s.boxes.resize(m);
  s.areas.resize(m);
  s.keep.resize(m);
  s.suppressed.resize(m);
  for (size_t i = 0; i < m; ++i) {
    const size_t a = static_cast<size_t>(s.candidates[i].anchor);
    const BoxXYXY b = xywh_to_xyxy(raw[a], raw[n + a], raw[2 * n + a], raw[3 * n + a]);
    s.boxes[i] = offset_box(b, class_offset(s.candidates[i].cls, o.agnostic));
    s.areas[i] = box_area(s.boxes[i]);
  }
  const size_t kept = greedy_nms(s.boxes.data(), s.areas.data(), m, o.iou, static_cast<size_t>(o.max_det),
                                 s.keep.data(), s.suppressed.data());

  // 5. Back to original-image pixels (from the un-offset boxes).
  const BoxScale scale = box_scale_for(o.input_w, o.input_h, w0, h0);
  out.clear();
  out.reserve(kept);
  for (size_t k = 0; k < kept; ++k) {
    const Candidate& c = s.candidates[s.keep[k]];
    const size_t a = static_cast<size_t>(c.anchor);
    const BoxXYXY b = scale_box(xywh_to_xyxy(raw[a], raw[n + a], raw[2 * n + a], raw[3 * n + a]), scale);
    out.push_back(Detection{b.x1, b.y1, b.x2, b.y2, c.score, static_cast<float>(c.cls)});
  }
}

}  // namespace

void validate_postprocess_options(const PostprocessOptions& o) {
  auto fail = [](const std::string& message) { throw Error(code::kInvalidOption, "postprocess: " + message); };
  if (o.batch <= 0 || o.anchors <= 0 || o.channels < 5) {
    fail("expected dims [batch >= 1, 4 + nc >= 5, anchors >= 1] but received [" + std::to_string(o.batch) + ", " +
         std::to_string(o.channels) + ", " + std::to_string(o.anchors) + "]");
  }
  if (!std::isfinite(o.conf) || o.conf < 0.0f || o.conf > 1.0f) fail("expected conf in [0, 1]");
  if (!std::isfinite(o.iou) || o.iou < 0.0 || o.iou > 1.0) fail("expected iou in [0, 1]");
  if (o.max_det < 0) fail("expected maxDet >= 0 but received " + std::to_string(o.max_det));
  if (!o.class_allowed.empty() && o.class_allowed.size() != static_cast<size_t>(o.channels - 4)) {
    fail("internal: class filter size does not match nc");
  }
  if (o.input_w <= 0 || o.input_h <= 0) fail("expected a positive input size");
  if (o.orig_sizes.size() != 2 * static_cast<size_t>(o.batch)) {
    fail("expected origSizes of length " + std::to_string(2 * static_cast<size_t>(o.batch)) + " but received " +
         std::to_string(o.orig_sizes.size()));
  }
  for (size_t i = 0; i < o.orig_sizes.size(); ++i) {
    if (o.orig_sizes[i] <= 0) fail("expected positive original sizes but origSizes[" + std::to_string(i) + "] is " +
                                   std::to_string(o.orig_sizes[i]));
  }
  if (o.threads < 1) fail("expected threads >= 1 but received " + std::to_string(o.threads));
}

void postprocess_batch(const float* raw, const PostprocessOptions& o, std::vector<std::vector<Detection>>* out) {
  validate_postprocess_options(o);
  const size_t batch = static_cast<size_t>(o.batch);
  const size_t per_image = static_cast<size_t>(o.channels) * static_cast<size_t>(o.anchors);
  out->assign(batch, {});
  const int threads = std::min<int>(o.threads, o.batch);
  std::vector<Scratch> scratch(static_cast<size_t>(threads));
  // Scratch is per worker, not per item: hand each item the scratch of the thread running it.
  std::vector<std::vector<Detection>>& results = *out;
  if (threads == 1) {
    for (size_t i = 0; i < batch; ++i) {
      postprocess_image(raw + i * per_image, o, o.orig_sizes[2 * i], o.orig_sizes[2 * i + 1], scratch[0], results[i]);
    }
    return;
  }
  parallel_for(static_cast<size_t>(threads), threads, [&](size_t t) {
    for (size_t i = t; i < batch; i += static_cast<size_t>(threads)) {
      postprocess_image(raw + i * per_image, o, o.orig_sizes[2 * i], o.orig_sizes[2 * i + 1], scratch[t], results[i]);
    }
  });
}

}  // namespace yolo::cpu
