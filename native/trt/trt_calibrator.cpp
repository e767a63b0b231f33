#include "trt_calibrator.h"

#if YOLO_TRT_HAS_CALIBRATOR

#include <cstring>
#include <exception>

namespace yolo::trt {

EntropyCalibrator::EntropyCalibrator(const CalibrationSet& set, std::string input_name, int channels,
                                     int height, int width)
    : set_(set),
      input_name_(std::move(input_name)),
      image_elems_(static_cast<size_t>(channels) * static_cast<size_t>(height) * static_cast<size_t>(width)),
      // A batch larger than the set would never be filled: TensorRT needs whole batches.
      batch_(set.batch < set.count ? (set.batch < 1 ? 1 : set.batch) : (set.count < 1 ? 1 : set.count)) {
  device_.reserve(image_elems_ * static_cast<size_t>(batch_) * sizeof(float));
}

bool EntropyCalibrator::getBatch(void* bindings[], char const* names[], int32_t nb_bindings) noexcept {
  // The remainder that does not fill a whole batch is left out (TensorRT cannot take a short batch).
  if (next_ + batch_ > set_.count || set_.tensor == nullptr) return false;
  try {
    const float* src = set_.tensor + static_cast<size_t>(next_) * image_elems_;
    cuda::check(cudaMemcpy(device_.get(), src, image_elems_ * static_cast<size_t>(batch_) * sizeof(float),
                           cudaMemcpyHostToDevice),
                "cudaMemcpy(calibration batch)");
  } catch (const std::exception& e) {
    error_ = e.what();
    return false;
  }
  for (int32_t i = 0; i < nb_bindings; ++i) {
    // Our networks have one input; anything else gets no data, which TensorRT reports as an error.
    if (names[i] != nullptr && input_name_ == names[i]) bindings[i] = device_.get();
  }
  next_ += batch_;
  return true;
}

void const* EntropyCalibrator::readCalibrationCache(std::size_t& length) noexcept {
  length = set_.cache.size();
  return set_.cache.empty() ? nullptr : set_.cache.data();
}

void EntropyCalibrator::writeCalibrationCache(void const* ptr, std::size_t length) noexcept {
  try {
    const auto* bytes = static_cast<const uint8_t*>(ptr);
    written_.assign(bytes, bytes + length);
  } catch (...) {
    written_.clear();  // out of memory: the table is only a cache, the build itself goes on
  }
}

}  // namespace yolo::trt

#endif  // YOLO_TRT_HAS_CALIBRATOR
