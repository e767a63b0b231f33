import { Gauge, type Registry } from 'prom-client';
import type { NativeBinding, NativeGpuDevice, NativeGpuMetrics } from '../native/binding.js';
import { loadNative } from '../native/load.js';

/**
 * GPU gauges of /metrics, read from the addon's gpuMetrics() (NVML, or sysfs on a Jetson) on every
 * scrape. Names and units are Triton's (`nv_gpu_*`, label `gpu_uuid`) so its dashboards work; the
 * temperature gauge is ours (Triton has none; DCGM calls it DCGM_FI_DEV_GPU_TEMP).
 */

/** One reading of every GPU; never rejects (failures are source 'none'). */
export type GpuMetricsReader = () => Promise<NativeGpuMetrics>;

const none = (reason: string): NativeGpuMetrics => ({ source: 'none', reason, devices: [] });
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** The addon's gpuMetrics(), with a missing or older addon (no gpuMetrics export) answered as 'none'. */
export const readGpuMetrics: GpuMetricsReader = async () => {
  let read: NativeBinding['gpuMetrics'] | undefined;
  try {
    read = (loadNative() as Partial<NativeBinding>).gpuMetrics;
  } catch (err) {
    return none(`the native addon did not load: ${message(err)}`);
  }
  if (typeof read !== 'function') return none('this build of the native addon has no gpuMetrics()');
  try {
    return await read();
  } catch (err) {
    return none(`gpuMetrics() failed: ${message(err)}`);
  }
};

async function safeRead(read: GpuMetricsReader): Promise<NativeGpuMetrics> {
  try {
    return await read();
  } catch (err) {
    return none(message(err));
  }
}

/** `p`, or source 'none' when it has not settled within `ms` (a hung driver must not hang /metrics). */
function withTimeout(p: Promise<NativeGpuMetrics>, ms: number): Promise<NativeGpuMetrics> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<NativeGpuMetrics>((resolve) => {
    timer = setTimeout(() => resolve(none(`no GPU reading within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export interface GpuMetricsTimeouts {
  /** The first reading, at server start (NVML init can take seconds on a multi-GPU host). Default 10 s. */
  probeTimeoutMs?: number;
  /** Each scrape's reading; past it the scrape has no GPU samples. Default 2 s. */
  scrapeTimeoutMs?: number;
}

/** Triton's label value: the NVML UUID ('GPU-...'); 'jetson-<index>' on a Jetson (what the addon gives). */
const gpuUuid = (d: NativeGpuDevice) => d.uuid;

/**
 * Reads the GPUs once and, when that finds one (source !== 'none'), registers the GPU gauges in
 * `registry`; a machine without a GPU exports none of them. Resolves with that first reading.
 * Every scrape then makes one read, shared by all the gauges; a device missing from a reading (or a
 * value it reports as null) has no sample in that scrape. A reading slower than the timeout counts as
 * no GPU for that scrape; it stays the one in flight, so a hung driver holds at most one libuv thread.
 */
export async function registerGpuMetrics(
  registry: Registry,
  read: GpuMetricsReader = readGpuMetrics,
  { probeTimeoutMs = 10_000, scrapeTimeoutMs = 2_000 }: GpuMetricsTimeouts = {},
): Promise<NativeGpuMetrics> {
  let inFlight: Promise<NativeGpuMetrics> | undefined;
  const readOnce = () =>
    (inFlight ??= safeRead(read).finally(() => {
      inFlight = undefined;
    }));
  const first = await withTimeout(readOnce(), probeTimeoutMs);
  if (first.source === 'none' || first.devices.length === 0) return first;

  // prom-client collects all metrics of a scrape concurrently: the gauges share one timed reading.
  let scrape: Promise<NativeGpuMetrics> | undefined;
  const sample = () =>
    (scrape ??= withTimeout(readOnce(), scrapeTimeoutMs).finally(() => {
      scrape = undefined;
    }));

  const registers = [registry];
  const gauge = (name: string, help: string, value: (d: NativeGpuDevice) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: ['gpu_uuid'],
      registers,
      async collect() {
        const reading = await sample();
        this.reset();
        for (const d of reading.devices) {
          const v = value(d);
          if (v !== null && Number.isFinite(v)) this.set({ gpu_uuid: gpuUuid(d) }, v);
        }
      },
    });

  gauge('nv_gpu_utilization', 'GPU utilization rate [0.0 - 1.0)', (d) => d.utilization);
  gauge(
    'nv_gpu_memory_total_bytes',
    'GPU total memory, in bytes (on a Jetson: the RAM it shares)',
    (d) => d.memoryTotalBytes,
  );
  gauge(
    'nv_gpu_memory_used_bytes',
    'GPU used memory, in bytes (on a Jetson: RAM in use, MemTotal - MemAvailable)',
    (d) => d.memoryUsedBytes,
  );
  gauge(
    'nv_gpu_power_usage',
    'GPU power usage in watts (on a Jetson: the module input power)',
    (d) => d.powerWatts,
  );
  gauge('yolo_trt_gpu_temperature_celsius', 'GPU temperature in degrees Celsius', (d) => d.temperatureC);
  new Gauge({
    name: 'yolo_trt_gpu_info',
    help: 'GPU name and telemetry source (nvml or jetson) per gpu_uuid; always 1',
    labelNames: ['gpu_uuid', 'name', 'source'],
    registers,
    async collect() {
      const reading = await sample();
      this.reset();
      for (const d of reading.devices)
        this.set({ gpu_uuid: gpuUuid(d), name: d.name, source: reading.source }, 1);
    },
  });
  return first;
}
