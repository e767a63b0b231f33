/**
 * Which prebuilt addon variant fits this machine. node-gyp-build ignores unknown file tags, so the choice
 * is ours, in this order:
 *
 *   1. YOLO_TRT_VARIANT=<variant> (or 'local' for build/Release): only that, never a silent substitute;
 *   2. a Jetson (/etc/nv_tegra_release): the prebuild for its JetPack (L4T R35 -> 5, R36 -> 6, R38 -> 7);
 *   3. elsewhere, TensorRT prebuilds whose libnvinfer.so.<major> is installed (ldconfig, LD_LIBRARY_PATH),
 *      newest major first;
 *   4. the local build (npm run build:native);
 *   5. the CPU prebuilds ('cpu', then 'cuda' = CPU + CUDA kernels without TensorRT).
 *
 * Prebuilds live in prebuilds/<platform>-<arch>/yolo_trt.<variant>.node, each with a
 * yolo_trt.<variant>.json manifest (scripts/prebuild.mjs) that says what it needs. Every prebuild that is
 * not tried gets a reason and a fix, so a failed load explains itself. Everything here is pure except
 * probeMachine() and testLoadInChild().
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** prebuilds/<platform>-<arch>/yolo_trt.<variant>.json */
export interface PrebuildManifest {
  variant: string;
  platform: string;
  arch: string;
  /** The package version it was built from. */
  version: string;
  napi: number;
  /** CUDA runtime compiled in (statically), e.g. '12.6'; null for a CPU-only build. */
  cuda: string | null;
  cudaArchitectures: string[];
  /** TensorRT headers it was built against, e.g. '10.3.0'; null without TensorRT. */
  tensorrt: string | null;
  tensorrtMajor: number | null;
  /** JetPack major for Jetson builds (5, 6, 7); null elsewhere. */
  jetpack: number | null;
  /** Shared libraries the loader must find (e.g. libnvinfer.so.10); the CUDA driver is checked at run time. */
  requires: string[];
}

export interface Prebuild {
  path: string;
  variant: string;
  manifest: PrebuildManifest | null;
}

export interface JetsonInfo {
  /** L4T major release, e.g. 36. */
  l4t: number;
  revision: string;
  /** JetPack major it belongs to, or null for an L4T this package does not know. */
  jetpack: number | null;
}

export interface MachineProbe {
  jetson: JetsonInfo | null;
  /** Shared library sonames the dynamic loader can find (only the ones that matter: libnvinfer*). */
  libraries: ReadonlySet<string>;
}

export interface VariantCandidate {
  source: 'env' | 'prebuild' | 'local-build';
  path: string;
  variant: string | null;
  /** Load it in a child process first: a GPU binary that does not fit can crash instead of throwing. */
  testLoad: boolean;
}

export interface SkippedVariant {
  path: string;
  variant: string;
  reason: string;
  fix: string;
}

/** L4T (Jetson Linux) major -> JetPack major. */
const L4T_TO_JETPACK: Readonly<Record<number, number>> = { 32: 4, 34: 5, 35: 5, 36: 6, 38: 7 };

/** "# R36 (release), REVISION: 4.3, GCID: ..., BOARD: generic, EABI: aarch64, DATE: ..." */
export function parseTegraRelease(text: string): JetsonInfo | null {
  const m = /^#\s*R(\d+)\s*\(release\),\s*REVISION:\s*([0-9.]+)/m.exec(text);
  if (m === null) return null;
  const l4t = Number(m[1]);
  return { l4t, revision: m[2] ?? '', jetpack: L4T_TO_JETPACK[l4t] ?? null };
}

/** Sonames from `ldconfig -p` ("\tlibnvinfer.so.10 (libc6,x86-64) => /usr/lib/..."). */
export function parseLdconfig(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^\s*(\S+\.so(?:\.[0-9]+)*)\s+\(/.exec(line);
    if (m?.[1] !== undefined) out.add(m[1]);
  }
  return out;
}

/** TensorRT majors whose runtime library the loader can find, newest first. */
export function tensorRtMajors(libraries: ReadonlySet<string>): number[] {
  const majors = new Set<number>();
  for (const lib of libraries) {
    const m = /^libnvinfer\.so\.(\d+)$/.exec(lib);
    if (m !== null) majors.add(Number(m[1]));
  }
  return [...majors].sort((a, b) => b - a);
}

function variantOf(file: string): string | null {
  const m = /^yolo_trt\.([A-Za-z0-9_-]+)\.node$/.exec(file);
  return m === null ? null : (m[1] ?? null);
}

/** The prebuilds shipped for one platform-arch folder, with their manifests (null when absent/bad). */
export function listPrebuilds(dir: string): Prebuild[] {
  if (!existsSync(dir)) return [];
  const out: Prebuild[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.node')) continue;
    const variant = variantOf(file) ?? file.replace(/\.node$/, '');
    let manifest: PrebuildManifest | null = null;
    try {
      const parsed = JSON.parse(readFileSync(join(dir, file.replace(/\.node$/, '.json')), 'utf8')) as unknown;
      if (typeof parsed === 'object' && parsed !== null && (parsed as PrebuildManifest).variant === variant) {
        manifest = parsed as PrebuildManifest;
      }
    } catch {
      manifest = null;
    }
    out.push({ path: join(dir, file), variant, manifest });
  }
  return out;
}

function isGpuVariant(p: Prebuild): boolean {
  return (p.manifest?.tensorrtMajor ?? null) !== null || (p.manifest?.jetpack ?? null) !== null;
}

function missingLibraries(p: Prebuild, probe: MachineProbe): string[] {
  return (p.manifest?.requires ?? []).filter((lib) => !probe.libraries.has(lib));
}

function installHint(p: Prebuild): string {
  const m = p.manifest;
  if (m?.jetpack != null) return `flash or upgrade the Jetson to JetPack ${m.jetpack}`;
  if (m?.tensorrtMajor != null) {
    return `install TensorRT ${m.tensorrtMajor} (e.g. \`apt install libnvinfer${m.tensorrtMajor} libnvonnxparsers${m.tensorrtMajor}\` from NVIDIA's CUDA repository) or add its lib folder to LD_LIBRARY_PATH`;
  }
  return 'rebuild it for this machine';
}

/**
 * Orders the addon candidates for this machine (see the module comment). `localBuild` is
 * build/Release/yolo_trt.node (it may not exist; loading reports that).
 */
export function orderVariantCandidates(
  prebuilds: readonly Prebuild[],
  localBuild: string,
  env: NodeJS.ProcessEnv,
  probe: MachineProbe,
): { candidates: VariantCandidate[]; skipped: SkippedVariant[] } {
  const candidates: VariantCandidate[] = [];
  const skipped: SkippedVariant[] = [];
  const asCandidate = (p: Prebuild, source: VariantCandidate['source'] = 'prebuild'): VariantCandidate => ({
    source,
    path: p.path,
    variant: p.variant,
    testLoad: isGpuVariant(p),
  });

  const forced = env.YOLO_TRT_VARIANT?.trim();
  if (forced !== undefined && forced !== '') {
    if (forced === 'local')
      return { candidates: [{ source: 'env', path: localBuild, variant: null, testLoad: false }], skipped };
    const match = prebuilds.filter((p) => p.variant === forced);
    for (const p of match) candidates.push(asCandidate(p, 'env'));
    for (const p of prebuilds) {
      if (p.variant !== forced) {
        skipped.push({
          path: p.path,
          variant: p.variant,
          reason: `YOLO_TRT_VARIANT=${forced} selects another variant`,
          fix: `unset YOLO_TRT_VARIANT to let yolo-trt choose`,
        });
      }
    }
    if (match.length === 0) {
      const have = prebuilds.map((p) => p.variant).join(', ') || 'none';
      skipped.push({
        path: '',
        variant: forced,
        reason: `YOLO_TRT_VARIANT=${forced} but there is no such prebuild here (have: ${have})`,
        fix: `set YOLO_TRT_VARIANT to one of: ${have}, or 'local' for build/Release/yolo_trt.node`,
      });
    }
    return { candidates, skipped };
  }

  const gpu: Prebuild[] = [];
  const cpu: Prebuild[] = [];
  const majors = tensorRtMajors(probe.libraries);
  for (const p of prebuilds) {
    const m = p.manifest;
    if (m === null) {
      cpu.push(p); // unknown file: tried after the known ones, like a CPU build
      continue;
    }
    if (m.jetpack !== null) {
      if (probe.jetson === null) {
        skipped.push({
          path: p.path,
          variant: p.variant,
          reason: 'built for Jetson, and this is not one',
          fix: 'nothing to do',
        });
      } else if (probe.jetson.jetpack !== m.jetpack) {
        skipped.push({
          path: p.path,
          variant: p.variant,
          reason: `built for JetPack ${m.jetpack}, this Jetson runs L4T R${probe.jetson.l4t} (JetPack ${probe.jetson.jetpack ?? 'unknown'})`,
          fix: `use the prebuild for JetPack ${probe.jetson.jetpack ?? '?'} or build from source: npm run build:native`,
        });
      } else {
        gpu.push(p);
      }
      continue;
    }
    if (m.tensorrtMajor !== null) {
      const missing = missingLibraries(p, probe);
      if (probe.jetson !== null) {
        skipped.push({
          path: p.path,
          variant: p.variant,
          reason: 'a server (dGPU) build; this is a Jetson',
          fix: 'use the JetPack prebuild or build from source',
        });
      } else if (missing.length > 0) {
        skipped.push({
          path: p.path,
          variant: p.variant,
          reason: `needs ${missing.join(', ')} (TensorRT ${m.tensorrtMajor}), which the dynamic loader cannot find${majors.length > 0 ? ` (found TensorRT ${majors.join(', ')})` : ''}`,
          fix: installHint(p),
        });
      } else {
        gpu.push(p);
      }
      continue;
    }
    cpu.push(p);
  }
  gpu.sort((a, b) => (b.manifest?.tensorrtMajor ?? 0) - (a.manifest?.tensorrtMajor ?? 0));
  const cpuRank = (p: Prebuild): number => (p.variant === 'cpu' ? 0 : p.variant === 'cuda' ? 1 : 2);
  cpu.sort((a, b) => cpuRank(a) - cpuRank(b));

  for (const p of gpu) candidates.push(asCandidate(p));
  candidates.push({ source: 'local-build', path: localBuild, variant: null, testLoad: false });
  for (const p of cpu) candidates.push(asCandidate(p));
  return { candidates, skipped };
}

/** What the loader can find on this machine. Never throws; a failed probe finds nothing. */
export function probeMachine(env: NodeJS.ProcessEnv = process.env): MachineProbe {
  let jetson: JetsonInfo | null;
  try {
    jetson = parseTegraRelease(readFileSync('/etc/nv_tegra_release', 'utf8'));
  } catch {
    jetson = null; // not a Jetson (or unreadable: then we cannot tell either)
  }
  const libraries = new Set<string>();
  if (process.platform === 'linux') {
    for (const ldconfig of ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig']) {
      const r = spawnSync(ldconfig, ['-p'], { encoding: 'utf8', timeout: 3000 });
      if (r.status === 0 && typeof r.stdout === 'string') {
        for (const lib of parseLdconfig(r.stdout)) if (lib.startsWith('libnv')) libraries.add(lib);
        break;
      }
    }
    for (const dir of (env.LD_LIBRARY_PATH ?? '').split(':')) {
      if (dir === '') continue;
      try {
        for (const f of readdirSync(dir)) if (/^libnv(infer|onnxparser)\.so\.\d+$/.test(f)) libraries.add(f);
      } catch {
        // a folder that does not exist is not an error
      }
    }
  }
  return { jetson, libraries };
}

/**
 * Loads `path` in a child Node process and calls capabilities() there. A GPU binary built for another
 * driver/TensorRT may crash the process that loads it; the child takes that hit. Returns null on
 * success, else why it failed. Costs one Node start (~50 ms), once per process, only for GPU variants.
 */
export function testLoadInChild(path: string, timeoutMs = 30_000): string | null {
  const script = `const m = require(${JSON.stringify(path)}); process.stdout.write(JSON.stringify(m.capabilities()));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: timeoutMs });
  if (r.error) return `could not test-load it in a child process: ${r.error.message}`;
  if (r.signal !== null) return `loading it crashed a test process (${r.signal})`;
  if (r.status !== 0) {
    const lines = (r.stderr ?? '').split('\n').filter((l) => /Error|error:/.test(l));
    return lines[0]?.trim() ?? `a test process loading it exited with status ${String(r.status)}`;
  }
  return null;
}
