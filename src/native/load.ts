/**
 * Finds and loads the native addon. The only place that touches a `.node` file.
 *
 * Candidates, first that loads wins:
 *   1. `YOLO_TRT_NATIVE_PATH` (an explicit file; when set, nothing else is tried);
 *   2. the prebuilt variants that fit this machine, then `build/Release/yolo_trt.node` from
 *      `npm run build:native`, then the CPU prebuilds (order and reasons: ./variants.ts, which also
 *      honours YOLO_TRT_VARIANT). GPU prebuilds are test-loaded in a child process first.
 * Every failure (and every prebuild skipped as unfit) is reported in one ERR_NATIVE_LOAD error with the fix.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { YoloTrtError, type ErrorCode } from '../errors.js';
import type { NativeBinding } from './binding.js';
import {
  listPrebuilds,
  orderVariantCandidates,
  probeMachine,
  testLoadInChild,
  type MachineProbe,
  type SkippedVariant,
} from './variants.js';

/** Package root: this file is dist/native/load.js (or src/native/load.ts), two levels down. */
export const packageRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface NativeCandidate {
  /** Where the candidate comes from, for messages. */
  source: 'env' | 'prebuild' | 'local-build';
  /** Absolute path of the .node file (it may not exist). */
  path: string;
  /** Prebuild variant ('cpu', 'cuda', 'tensorrt10', 'jetpack6', ...); absent for the local build. */
  variant?: string | null;
  /** Load it in a child process first (GPU variants: a wrong one can crash instead of throwing). */
  testLoad?: boolean;
}

/** The ordered candidate list, and the prebuilds left out as unfit. No loading. */
export function nativeCandidatePlan(
  root: string = packageRoot,
  env: NodeJS.ProcessEnv = process.env,
  platform: string = process.platform,
  arch: string = process.arch,
  probe: () => MachineProbe = () => probeMachine(env),
): { candidates: NativeCandidate[]; skipped: SkippedVariant[] } {
  const explicit = env.YOLO_TRT_NATIVE_PATH;
  if (explicit !== undefined && explicit !== '') {
    return { candidates: [{ source: 'env', path: resolve(explicit) }], skipped: [] };
  }
  const prebuilds = listPrebuilds(join(root, 'prebuilds', `${platform}-${arch}`));
  const localBuild = join(root, 'build', 'Release', 'yolo_trt.node');
  // Probing (ldconfig) is only worth it when there is a GPU prebuild to choose.
  const needsProbe = prebuilds.some((p) => p.manifest?.tensorrtMajor != null || p.manifest?.jetpack != null);
  return orderVariantCandidates(
    prebuilds,
    localBuild,
    env,
    needsProbe ? probe() : { jetson: null, libraries: new Set() },
  );
}

/** The ordered candidate list (see nativeCandidatePlan). */
export function nativeCandidates(
  root: string = packageRoot,
  env: NodeJS.ProcessEnv = process.env,
  platform: string = process.platform,
  arch: string = process.arch,
): NativeCandidate[] {
  return nativeCandidatePlan(root, env, platform, arch).candidates;
}

const REQUIRED_EXPORTS = ['capabilities', 'letterboxGeometry', 'preprocess', 'postprocess'] as const;

function loadCandidate(candidate: NativeCandidate): NativeBinding {
  if (!existsSync(candidate.path)) throw new Error('file not found');
  if (candidate.testLoad === true && process.env.YOLO_TRT_NO_TEST_LOAD !== '1') {
    const failure = testLoadInChild(candidate.path);
    if (failure !== null) throw new Error(failure);
  }
  const load = createRequire(import.meta.url);
  const mod = load(candidate.path) as Record<string, unknown>;
  const missing = REQUIRED_EXPORTS.filter((name) => typeof mod[name] !== 'function');
  if (missing.length > 0) {
    throw new Error(`not a yolo-trt addon (missing ${missing.join(', ')})`);
  }
  return mod as unknown as NativeBinding;
}

let cached: NativeBinding | undefined;
let loadedFrom: NativeCandidate | undefined;

/** The candidate the addon was loaded from (for `yolo-trt doctor`), or undefined before/without a load. */
export function loadedNativeCandidate(): NativeCandidate | undefined {
  return loadedFrom;
}

/** Loads the addon once and returns its typed surface; throws YoloTrtError('ERR_NATIVE_LOAD'). */
export function loadNative(): NativeBinding {
  if (cached !== undefined) return cached;
  const { candidates, skipped } = nativeCandidatePlan();
  const failures: { candidate: NativeCandidate; error: string }[] = [];
  for (const candidate of candidates) {
    try {
      cached = loadCandidate(candidate);
      loadedFrom = candidate;
      return cached;
    } catch (err) {
      failures.push({ candidate, error: err instanceof Error ? err.message : String(err) });
    }
  }
  const lines = failures.map(({ candidate, error }) => `  - ${candidate.source} ${candidate.path}: ${error}`);
  for (const s of skipped)
    lines.push(`  - skipped ${s.variant}${s.path ? ` (${s.path})` : ''}: ${s.reason}. Fix: ${s.fix}`);
  const fix =
    candidates[0]?.source === 'env'
      ? 'Fix: point YOLO_TRT_NATIVE_PATH at a yolo_trt.node built for this platform, or unset it.'
      : 'Fix: run `npm run build:native` in the yolo-trt package (needs CMake >= 3.19 and a C++17 compiler), ' +
        `or install a prebuilt binary for ${process.platform}-${process.arch}.`;
  throw new YoloTrtError(
    'ERR_NATIVE_LOAD',
    `Could not load the yolo-trt native addon for ${process.platform}-${process.arch} (Node ${process.versions.node}). Tried:\n${lines.join('\n')}\n${fix}`,
    { details: { candidates: failures.map(({ candidate, error }) => ({ ...candidate, error })), skipped } },
  );
}

/** Codes the addon may put on its errors; anything else is reported as ERR_INTERNAL. */
const NATIVE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'ERR_INVALID_OPTION',
  'ERR_BAD_IMAGE',
  'ERR_UNSUPPORTED_FORMAT',
  'ERR_INTERNAL',
  'ERR_CUDA',
  'ERR_NO_CUDA_DRIVER',
  'ERR_MODEL_UNSUPPORTED',
  'ERR_MODEL_LOAD',
  'ERR_INFERENCE',
  'ERR_ENGINE_INCOMPATIBLE',
  'ERR_BACKEND_UNAVAILABLE',
  'ERR_DISPOSED',
  'ABORT_ERR',
]);

/**
 * Turns a native rejection (an Error with `.code`) into a YoloTrtError whose stack is the caller's:
 * capture `callSite = new Error()` before awaiting the native promise (sharp's pattern), because a
 * rejection from a libuv worker has no JS stack of its own.
 */
export function wrapNativeError(err: unknown, callSite: Error): YoloTrtError {
  if (err instanceof YoloTrtError) return err;
  const raw = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; message?: unknown };
  const code: ErrorCode =
    typeof raw.code === 'string' && NATIVE_CODES.has(raw.code as ErrorCode)
      ? (raw.code as ErrorCode)
      : 'ERR_INTERNAL';
  const message = typeof raw.message === 'string' ? raw.message : String(err);
  const wrapped = new YoloTrtError(code, message, { cause: err });
  const frames = callSite.stack?.split('\n').slice(1).join('\n');
  if (frames) wrapped.stack = `${wrapped.name}: ${message}\n${frames}`;
  return wrapped;
}

/** Awaits a native call and rethrows its failure as YoloTrtError with the caller's stack. */
export async function callNative<T>(run: () => Promise<T>): Promise<T> {
  const callSite = new Error();
  try {
    return await run();
  } catch (err) {
    throw wrapNativeError(err, callSite);
  }
}
