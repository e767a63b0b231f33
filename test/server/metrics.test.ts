// ServerMetrics on its own: GPU gauges appear only when a GPU is found; Triton counters add up.
// (GPU gauges in detail: metrics-gpu.test.ts.)
import { expect, it } from 'vitest';
import { ServerMetrics } from '../../dist/server/metrics.js';

it('exports GPU gauges only when the GPU reader finds a device', async () => {
  const none = new ServerMetrics({ processMetrics: false });
  await none.enableGpuMetrics(async () => ({ source: 'none', reason: 'no GPU here', devices: [] }));
  expect(await none.render()).not.toMatch(/nv_gpu_|yolo_trt_gpu_/);
  const gpu = new ServerMetrics({ processMetrics: false });
  const reading = {
    source: 'nvml' as const,
    reason: null,
    devices: [
      {
        index: 0,
        uuid: 'GPU-abc',
        name: 'Fake GPU',
        utilization: 0.25,
        memoryUsedBytes: 2 ** 30,
        memoryTotalBytes: 8 * 2 ** 30,
        powerWatts: 70.5,
        temperatureC: 41,
      },
    ],
  };
  await gpu.enableGpuMetrics(async () => reading);
  expect(await gpu.render()).toMatch(/^nv_gpu_memory_total_bytes\{gpu_uuid="GPU-abc"\} 8589934592$/m);
});

it('keeps Triton units: cumulative microseconds and counts per model version', async () => {
  const m = new ServerMetrics({ processMetrics: false });
  const l = { model: 'yolo', version: '3' };
  const stages = { preprocess: 1.5, inference: 10, postprocess: 0.25 };
  m.requestSucceeded(l, { requestMs: 20, queueMs: 2, images: 2, stages });
  m.requestSucceeded(l, { requestMs: 30, queueMs: 3, images: 1, stages });
  m.batchExecuted(l, 3);
  m.requestFailed(l, 'REJECTED', 1);
  m.setPendingSource(() => [{ ...l, pending: 4 }]);
  const text = await m.render();
  const value = (name: string) =>
    Number(new RegExp(`^${name}\\{model="yolo",version="3"\\} (\\S+)$`, 'm').exec(text)?.[1]);
  expect(value('nv_inference_request_success')).toBe(2);
  expect(value('nv_inference_count')).toBe(3);
  expect(value('nv_inference_exec_count')).toBe(1);
  expect(value('nv_inference_request_duration_us')).toBe(51_000);
  expect(value('nv_inference_queue_duration_us')).toBe(5_000);
  expect(value('nv_inference_compute_infer_duration_us')).toBe(20_000);
  expect(value('nv_inference_pending_request_count')).toBe(4);
  expect(text).toMatch(/^nv_inference_request_failure\{model="yolo",version="3",reason="REJECTED"\} 1$/m);
  expect(text).toMatch(/^yolo_trt_batch_size_bucket\{le="4",model="yolo",version="3"\} 1$/m);
});
