/**
 * `yolo-trt doctor`: what the binary was built with, what the machine has (driver, GPUs, TensorRT,
 * Jetson), the engine cache, and which backend 'auto' picks with every reason. Never fails on a machine
 * without a GPU: that is one of the answers. Exits 1 when the addon cannot load (nothing can run).
 */
import { readFileSync } from 'node:fs';

import { selectBackend } from '../backends/select.js';
import { precisionSupport } from '../backends/tensorrt-precision.js';
import { resolveCacheDir } from '../engine-cache/cache-dir.js';
import { listCacheEntries, type PlanCacheEntry } from '../engine-cache/store.js';
import type { NativeBinding, NativeCapabilities } from '../native/binding.js';
import { loadedNativeCandidate, loadNative, nativeCandidatePlan } from '../native/load.js';
import { probeMachine, tensorRtMajors, type MachineProbe, type SkippedVariant } from '../native/variants.js';
import { EXIT_FAILURE, EXIT_OK, type CliContext } from './command.js';
import type { DoctorOptions } from './doctor.js';

export interface DoctorReport {
  yoloTrt: string;
  node: string;
  platform: string;
  native: {
    loaded: boolean;
    from: { source: string; path: string; variant: string | null } | null;
    error: string | null;
    skipped: SkippedVariant[];
  };
  capabilities: NativeCapabilities | null;
  tensorrt: { version: string; compiledVersion: string; features: Record<string, boolean> } | null;
  machine: { jetson: MachineProbe['jetson']; tensorrtLibraries: number[] };
  cache: { dir: string; entries: PlanCacheEntry[]; error: string | null };
  auto: { backend: string; reasons: string[] };
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function doctorReport(cacheDir?: string): Promise<DoctorReport> {
  let native: NativeBinding | null = null;
  let error: string | null = null;
  try {
    native = loadNative();
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
  }
  const caps = native?.capabilities() ?? null;
  const from = loadedNativeCandidate();
  const machine = probeMachine();
  const dir = cacheDir ?? resolveCacheDir();
  let entries: PlanCacheEntry[] = [];
  let cacheError: string | null = null;
  try {
    entries = await listCacheEntries(dir);
  } catch (err) {
    cacheError = err instanceof Error ? err.message : String(err);
  }
  // Without the addon nothing runs: 'auto' picks nothing (selectBackend would name cpu, which then fails).
  const selection =
    native === null
      ? { order: ['none'], reasons: ['the native addon did not load, so no backend can run (see binary)'] }
      : selectBackend('auto', caps);
  return {
    yoloTrt: packageVersion(),
    node: process.versions.node,
    platform: `${process.platform}-${process.arch}`,
    native: {
      loaded: native !== null,
      from:
        from === undefined ? null : { source: from.source, path: from.path, variant: from.variant ?? null },
      error,
      skipped: nativeCandidatePlan().skipped,
    },
    capabilities: caps,
    tensorrt:
      native?.tensorrt === undefined
        ? null
        : {
            version: native.tensorrt.version,
            compiledVersion: native.tensorrt.compiledVersion,
            features: { ...native.tensorrt.features },
          },
    machine: { jetson: machine.jetson, tensorrtLibraries: tensorRtMajors(machine.libraries) },
    cache: { dir, entries, error: cacheError },
    // 'auto' tries the first; a model that then fails to build on TensorRT falls back to the next.
    auto: { backend: selection.order[0] ?? 'cpu', reasons: selection.reasons },
  };
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

export function formatDoctor(r: DoctorReport): string {
  const out: string[] = [];
  const line = (label: string, value: string): void => void out.push(`${label.padEnd(12)} ${value}`);
  line('yolo-trt', `${r.yoloTrt} (Node ${r.node}, ${r.platform})`);
  if (r.native.loaded) {
    const from = r.native.from;
    line(
      'binary',
      `${r.capabilities?.variant ?? '?'} variant${from ? ` from ${from.source} ${from.path}` : ''}`,
    );
  } else {
    line('binary', 'NOT LOADED');
    out.push(...(r.native.error ?? '').split('\n').map((l) => `             ${l}`));
  }
  // (a failed load already lists the skipped prebuilds in its message)
  if (r.native.loaded) {
    for (const s of r.native.skipped)
      out.push(`             skipped prebuild ${s.variant}: ${s.reason} (fix: ${s.fix})`);
  }
  const cuda = r.capabilities?.cuda;
  if (cuda === undefined) {
    line('CUDA', 'unknown (addon not loaded)');
  } else if (!cuda.compiled) {
    line('CUDA', 'not compiled into this binary');
  } else {
    line('CUDA', `compiled (runtime ${cuda.runtimeVersion ?? '?'}, static)`);
    line('driver', cuda.driver ?? `none${cuda.error ? `: ${cuda.error}` : ''}`);
    if (cuda.devices.length === 0) line('GPUs', 'none');
    for (const d of cuda.devices) {
      line(
        d.index === 0 ? 'GPUs' : '',
        `#${d.index} ${d.name}, compute ${d.computeCapability}, ${mib(d.memoryBytes)}`,
      );
    }
    if (cuda.driver !== null && cuda.error !== null) line('', cuda.error);
  }
  if (r.tensorrt !== null) {
    const f = r.tensorrt.features;
    line(
      'TensorRT',
      `${r.tensorrt.version} (built against ${r.tensorrt.compiledVersion}; INT8 ${f.int8Calibration ? 'calibration' : 'Q/DQ models only'}, build progress ${f.progressMonitor ? 'yes' : 'no'}${f.stronglyTyped ? ', strongly typed' : ''})`,
    );
    const precision = precisionSupport(r.tensorrt.compiledVersion);
    if (precision !== null) {
      line('', `FP16: ${precision.fp16}`);
      line('', `INT8: ${precision.int8}`);
    }
  } else {
    line(
      'TensorRT',
      `not compiled into this binary${r.machine.tensorrtLibraries.length > 0 ? ` (libnvinfer ${r.machine.tensorrtLibraries.join(', ')} installed: use a TensorRT variant)` : ''}`,
    );
  }
  if (r.machine.jetson !== null) {
    const j = r.machine.jetson;
    line('Jetson', `L4T R${j.l4t}.${j.revision} (JetPack ${j.jetpack ?? 'unknown'})`);
  }
  line(
    'cache',
    `${r.cache.dir}${r.cache.error ? ` (unreadable: ${r.cache.error})` : ` (${r.cache.entries.length} engines)`}`,
  );
  for (const e of r.cache.entries) {
    const m = e.meta;
    const what =
      m === null
        ? 'no metadata'
        : `${m.model}, ${m.inputs.precision}, TensorRT ${m.inputs.tensorrtVersion}, ${m.inputs.gpuName}`;
    line('', `${e.key.slice(0, 16)}  ${mib(e.bytes)}  ${e.modified.toISOString().slice(0, 19)}  ${what}`);
  }
  line('auto picks', r.auto.backend);
  for (const reason of r.auto.reasons) line('', `because ${reason}`);
  return out.join('\n') + '\n';
}

export async function runDoctor(options: DoctorOptions, ctx: CliContext): Promise<number> {
  const report = await doctorReport(options.cacheDir);
  ctx.stdout.write(options.json === true ? JSON.stringify(report, null, 2) + '\n' : formatDoctor(report));
  // A machine without a GPU is an answer; an addon that cannot load is a broken install: say so in the
  // exit code too, so scripts and health checks notice before predict fails with ERR_NATIVE_LOAD.
  if (!report.native.loaded) {
    ctx.stderr.write(
      'error [ERR_NATIVE_LOAD]: the native addon cannot load here; predict and serve will fail\n',
    );
    return EXIT_FAILURE;
  }
  return EXIT_OK;
}
