/**
 * The on-disk plan cache: lookup, save (atomic), remove and list. Corrupt or foreign entries are the
 * caller's to detect (TensorRT refuses them with ERR_ENGINE_INCOMPATIBLE) and remove; nothing here
 * trusts a file's content beyond reading it.
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { writeFileAtomic } from './atomic-write.js';
import { calibrationCachePath, enginePaths, timingCachePath } from './cache-dir.js';
import { sha256Hex, type PlanKeyInputs } from './key.js';

/** The sidecar written next to each plan: what it was built from, for `yolo-trt doctor` and debugging. */
export interface PlanMeta {
  key: string;
  inputs: PlanKeyInputs;
  /** The model file the plan was built from. */
  model: string;
  createdAt: string;
  buildSeconds: number;
  dynamicBatch: boolean;
  quantizedModel: boolean;
}

export interface PlanCacheEntry {
  key: string;
  planPath: string;
  bytes: number;
  modified: Date;
  /** null when the sidecar is missing or unreadable. */
  meta: PlanMeta | null;
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** The cached plan for `key`, or null when there is none. */
export async function readCachedPlan(cacheDir: string, key: string): Promise<Uint8Array | null> {
  try {
    const plan = await readFile(enginePaths(cacheDir, key).plan);
    return plan.byteLength > 0 ? plan : null;
  } catch (err) {
    if (isMissing(err)) return null;
    throw err;
  }
}

/** Saves a plan and its sidecar, each atomically (the plan first: a sidecar never names a missing plan). */
export async function saveCachedPlan(
  cacheDir: string,
  key: string,
  plan: Uint8Array,
  meta: PlanMeta,
): Promise<void> {
  const paths = enginePaths(cacheDir, key);
  await writeFileAtomic(paths.plan, plan);
  await writeFileAtomic(paths.meta, JSON.stringify(meta, null, 2) + '\n');
}

/** Removes a plan and its sidecar (a corrupt or incompatible entry); missing files are fine. */
export async function removeCachedPlan(cacheDir: string, key: string): Promise<void> {
  const paths = enginePaths(cacheDir, key);
  await rm(paths.plan, { force: true });
  await rm(paths.meta, { force: true });
}

/** Every cached plan, newest first. An absent cache directory is an empty cache. */
export async function listCacheEntries(cacheDir: string): Promise<PlanCacheEntry[]> {
  const dir = join(cacheDir, 'engines');
  let files: string[];
  try {
    files = await readdir(dir);
  } catch (err) {
    if (isMissing(err)) return [];
    throw err;
  }
  const entries: PlanCacheEntry[] = [];
  for (const file of files) {
    const m = /^([0-9a-f]{64})\.plan$/.exec(file);
    if (m === null) continue; // sidecars, temporary files of interrupted writes, strangers
    const key = m[1] as string;
    const paths = enginePaths(cacheDir, key);
    let info;
    try {
      info = await stat(paths.plan);
    } catch {
      continue; // removed meanwhile
    }
    let meta: PlanMeta | null = null;
    try {
      const parsed: unknown = JSON.parse(await readFile(paths.meta, 'utf8'));
      if (typeof parsed === 'object' && parsed !== null && (parsed as PlanMeta).key === key)
        meta = parsed as PlanMeta;
    } catch {
      meta = null;
    }
    entries.push({ key, planPath: paths.plan, bytes: info.size, modified: info.mtime, meta });
  }
  return entries.sort((a, b) => b.modified.getTime() - a.modified.getTime());
}

/** Timing caches are shared by every model built with one TensorRT version on one GPU model. */
export function timingCacheId(tensorrtVersion: string, gpuName: string, computeCapability: string): string {
  return sha256Hex(JSON.stringify(['timing', 1, tensorrtVersion, gpuName, computeCapability])).slice(0, 32);
}

export async function readOptionalFile(path: string): Promise<Uint8Array | null> {
  try {
    const data = await readFile(path);
    return data.byteLength > 0 ? data : null;
  } catch (err) {
    if (isMissing(err)) return null;
    throw err;
  }
}

export async function readTimingCache(cacheDir: string, id: string): Promise<Uint8Array | null> {
  return readOptionalFile(timingCachePath(cacheDir, id));
}

export async function writeTimingCache(cacheDir: string, id: string, data: Uint8Array): Promise<void> {
  await writeFileAtomic(timingCachePath(cacheDir, id), data);
}

export async function readCalibrationCache(cacheDir: string, id: string): Promise<Uint8Array | null> {
  return readOptionalFile(calibrationCachePath(cacheDir, id));
}

export async function writeCalibrationCache(cacheDir: string, id: string, data: Uint8Array): Promise<void> {
  await writeFileAtomic(calibrationCachePath(cacheDir, id), data);
}
