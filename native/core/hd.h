// YOLO_HD marks a function that must compile for both the host (CPU pipeline, tests) and the device
// (CUDA kernels). Every per-pixel and per-box formula of yolo-trt is written once, as a YOLO_HD function
// in native/core/, so the CPU path (which CI tests against OpenCV and Ultralytics) and the GPU path run
// the very same arithmetic.
//
// Rules for YOLO_HD functions:
//  - plain scalar C++17: no std:: containers, no exceptions, no virtual calls, no allocation;
//  - only math that exists on both sides (floor/floorf, fmin/fmax, integer ops); rounding helpers that
//    must be exact are written out by hand (see round_half_even in letterbox.h);
//  - the host build uses -ffp-contract=off and the device build --fmad=false, so a*b+c is never fused.
#pragma once

#if defined(__CUDACC__)
#define YOLO_HD __host__ __device__ __forceinline__
#else
#define YOLO_HD inline
#endif
