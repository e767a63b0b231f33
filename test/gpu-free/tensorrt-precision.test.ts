import { describe, expect, it } from 'vitest';
import { precisionSupport } from '../../src/backends/tensorrt-precision.js';

describe('precisionSupport (doctor: how FP16/INT8 are obtained per TensorRT version)', () => {
  it('8.x: FP16 flag, INT8 by calibration or Q/DQ', () => {
    expect(precisionSupport('8.6.1')).toEqual({
      fp16: 'builder flag on an FP32 model',
      int8: 'calibration images, or a Q/DQ-quantized ONNX model',
    });
  });
  it('10.0-10.11: FP16 flag, INT8 from Q/DQ models', () => {
    expect(precisionSupport('10.8.0')?.fp16).toBe('builder flag on an FP32 model');
    expect(precisionSupport('10.11.0')?.int8).toBe('a Q/DQ-quantized ONNX model');
  });
  it('10.12+: the flag is deprecated but honoured', () => {
    expect(precisionSupport('10.12.0')?.fp16).toMatch(/deprecated.*still honoured/);
    expect(precisionSupport('10.16.1')?.fp16).toMatch(/deprecated/);
  });
  it('11.x: strongly typed, precision comes from the model', () => {
    expect(precisionSupport('11.1.0')).toEqual({
      fp16: 'from an FP16 ONNX model only (strongly typed networks)',
      int8: 'from a Q/DQ-quantized ONNX model only',
    });
  });
  it('an unparsable version gives null', () => {
    expect(precisionSupport('unknown')).toBeNull();
  });
});
