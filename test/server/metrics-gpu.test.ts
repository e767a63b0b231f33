// GPU gauges of /metrics: Triton's nv_gpu_* names with label gpu_uuid, read once per scrape from the
// addon's gpuMetrics() (here a fake reader), registered only when the first reading finds a GPU.
import { describe, expect, it } from 'vitest';
import type { NativeGpuDevice, NativeGpuMetrics } from '../../dist/native/binding.js';
import { readGpuMetrics } from '../../dist/server/gpu-metrics.js';
import { ServerMetrics } from '../../dist/server/metrics.js';
import { fakeServer } from './helpers.js';

const h100: NativeGpuDevice = {
  index: 0,
  uuid: 'GPU-11111111-2222-3333-4444-555555555555',
  name: 'Fake H100',
  utilization: 0.37,
  memoryUsedBytes: 1234567890,
  memoryTotalBytes: 85520809984,
  powerWatts: 123.456,
  temperatureC: 55,
};
const t4: NativeGpuDevice = {
  index: 1,
  uuid: 'GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
  name: 'Fake T4',
  utilization: null,
  memoryUsedBytes: 0,
  memoryTotalBytes: 16106127360,
  powerWatts: null,
  temperatureC: null,
};

/** A reader that returns `readings` in turn (the last one repeats) and counts its calls. */
function scripted(...readings: (NativeGpuMetrics | Error)[]) {
  const reader = async () => {
    const r = readings[Math.min(reader.calls, readings.length - 1)]!;
    reader.calls++;
    if (r instanceof Error) throw r;
    return r;
  };
  reader.calls = 0;
  return reader;
}

const nvml = (...devices: NativeGpuDevice[]): NativeGpuMetrics => ({ source: 'nvml', reason: null, devices });
const gpuLines = (text: string) =>
  text
    .split('\n')
    .filter((l) => /^(nv_gpu_|yolo_trt_gpu_)/.test(l))
    .sort();

describe('GPU gauges', () => {
  it('exports Triton names in Triton units, one sample per reported value, one read per scrape', async () => {
    const m = new ServerMetrics({ processMetrics: false });
    const read = scripted(nvml(h100, t4));
    const first = await m.enableGpuMetrics(read);
    expect(first.devices).toHaveLength(2);
    expect(read.calls).toBe(1);
    const text = await m.render();
    expect(read.calls).toBe(2);
    const a = 'gpu_uuid="GPU-11111111-2222-3333-4444-555555555555"';
    const b = 'gpu_uuid="GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"';
    expect(gpuLines(text)).toEqual(
      [
        `nv_gpu_utilization{${a}} 0.37`,
        `nv_gpu_memory_used_bytes{${a}} 1234567890`,
        `nv_gpu_memory_used_bytes{${b}} 0`,
        `nv_gpu_memory_total_bytes{${a}} 85520809984`,
        `nv_gpu_memory_total_bytes{${b}} 16106127360`,
        `nv_gpu_power_usage{${a}} 123.456`,
        `yolo_trt_gpu_temperature_celsius{${a}} 55`,
        `yolo_trt_gpu_info{${a},name="Fake H100",source="nvml"} 1`,
        `yolo_trt_gpu_info{${b},name="Fake T4",source="nvml"} 1`,
      ].sort(),
    );
    expect(text).toMatch(/^# TYPE nv_gpu_utilization gauge$/m);
  });

  it('reads again on every scrape: new values, vanished devices and failed reads leave no stale samples', async () => {
    const m = new ServerMetrics({ processMetrics: false });
    const read = scripted(
      nvml(h100, t4),
      nvml(h100, t4),
      nvml({ ...h100, utilization: 0.9 }),
      new Error('NVML went away'),
      { source: 'none', reason: 'gone', devices: [] },
      nvml(t4),
    );
    await m.enableGpuMetrics(read);
    expect(gpuLines(await m.render())).toHaveLength(9);
    const second = await m.render();
    expect(second).toMatch(/^nv_gpu_utilization\{gpu_uuid="GPU-1[^}]*\} 0\.9$/m);
    expect(second).not.toContain('Fake T4');
    expect(gpuLines(await m.render())).toEqual([]); // the read threw: the scrape still answers
    expect(gpuLines(await m.render())).toEqual([]);
    expect(gpuLines(await m.render())).toEqual([
      'nv_gpu_memory_total_bytes{gpu_uuid="GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"} 16106127360',
      'nv_gpu_memory_used_bytes{gpu_uuid="GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"} 0',
      'yolo_trt_gpu_info{gpu_uuid="GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",name="Fake T4",source="nvml"} 1',
    ]);
    expect(read.calls).toBe(6);
  });

  it('a hung reading times out per scrape without starting a second one', async () => {
    const m = new ServerMetrics({ processMetrics: false });
    let calls = 0;
    let release: (r: NativeGpuMetrics) => void = () => {};
    await m.enableGpuMetrics(
      async () => {
        calls++;
        if (calls === 2) return new Promise<NativeGpuMetrics>((resolve) => (release = resolve));
        return calls === 1 ? nvml(h100) : nvml(t4);
      },
      { scrapeTimeoutMs: 30 },
    );
    expect(gpuLines(await m.render())).toEqual([]); // timed out
    expect(gpuLines(await m.render())).toEqual([]); // still the same hung read
    expect(calls).toBe(2);
    release(nvml(h100));
    await new Promise((resolve) => setImmediate(resolve));
    expect(await m.render()).toContain('name="Fake T4"'); // a fresh read once the hung one settled
    expect(calls).toBe(3);
  });

  it('labels a Jetson by jetson-<index>', async () => {
    const m = new ServerMetrics({ processMetrics: false });
    const jetson: NativeGpuMetrics = {
      source: 'jetson',
      reason: null,
      devices: [{ ...h100, uuid: 'jetson-0', name: 'NVIDIA Jetson AGX Orin', powerWatts: 14.5 }],
    };
    await m.enableGpuMetrics(async () => jetson);
    const text = await m.render();
    expect(text).toMatch(/^nv_gpu_power_usage\{gpu_uuid="jetson-0"\} 14\.5$/m);
    expect(text).toMatch(
      /^yolo_trt_gpu_info\{gpu_uuid="jetson-0",name="NVIDIA Jetson AGX Orin",source="jetson"\} 1$/m,
    );
  });

  it('registers nothing when the first reading finds no GPU or fails, and never reads again', async () => {
    const firsts: (NativeGpuMetrics | Error)[] = [
      { source: 'none', reason: 'no NVML', devices: [] },
      new Error('boom'),
    ];
    for (const first of firsts) {
      const m = new ServerMetrics({ processMetrics: false });
      const read = scripted(first, nvml(h100));
      const r = await m.enableGpuMetrics(read);
      expect(r.source).toBe('none');
      expect(r.reason).toMatch(/no NVML|boom/);
      const text = await m.render();
      expect(text).not.toMatch(/nv_gpu_|yolo_trt_gpu_/);
      expect(read.calls).toBe(1);
    }
  });
});

describe('the server on this machine', () => {
  it('exports GPU gauges exactly when the addon finds a GPU (none on a CPU-only machine)', async () => {
    const reading = await readGpuMetrics();
    const { app } = await fakeServer({ processMetrics: false });
    try {
      const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(text).toMatch(/^nv_inference_pending_request_count/m);
      if (reading.source === 'none') {
        expect(reading.reason).toEqual(expect.any(String));
        expect(text).not.toMatch(/nv_gpu_|yolo_trt_gpu_/);
      } else {
        expect(text).toMatch(/^nv_gpu_memory_total_bytes\{gpu_uuid="[^"]+"\} \d/m);
      }
    } finally {
      await app.close();
    }
  });
});
