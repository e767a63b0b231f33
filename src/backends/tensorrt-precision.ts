/**
 * How a TensorRT version turns an ONNX model into FP16 / INT8 kernels: what `doctor` prints and
 * docs/gpu.md tabulates. Mirrors the version guards of native/trt/trt_version.h.
 */
export interface PrecisionSupport {
  fp16: string;
  int8: string;
}

function parseVersion(version: string): [number, number] | null {
  const m = /^(\d+)\.(\d+)/.exec(version);
  return m === null ? null : [Number(m[1]), Number(m[2])];
}

/** `version`: the TensorRT the addon was compiled against ("10.13.0"). */
export function precisionSupport(version: string): PrecisionSupport | null {
  const v = parseVersion(version);
  if (v === null) return null;
  const [major, minor] = v;
  if (major >= 11) {
    return {
      fp16: 'from an FP16 ONNX model only (strongly typed networks)',
      int8: 'from a Q/DQ-quantized ONNX model only',
    };
  }
  const int8 =
    major < 10 ? 'calibration images, or a Q/DQ-quantized ONNX model' : 'a Q/DQ-quantized ONNX model';
  if (major === 10 && minor >= 12) {
    return { fp16: 'builder flag on an FP32 model (deprecated by TensorRT 10.12+, still honoured)', int8 };
  }
  return { fp16: 'builder flag on an FP32 model', int8 };
}
