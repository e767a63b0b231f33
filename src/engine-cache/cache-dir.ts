/**
 * Where yolo-trt keeps built engines and timing caches: $YOLO_TRT_CACHE, else ~/.cache/yolo-trt.
 *
 *   <dir>/engines/<key>.plan          a bare TensorRT plan
 *   <dir>/engines/<key>.json          what it was built from (the key inputs, model path, build time)
 *   <dir>/timing/<hash>.timing        TensorRT timing cache per TensorRT version + GPU (speeds up rebuilds)
 *   <dir>/calibration/<hash>.calib    INT8 calibration tables per model + calibration set
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

export function resolveCacheDir(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const explicit = env.YOLO_TRT_CACHE;
  if (explicit !== undefined && explicit.trim() !== '') {
    return isAbsolute(explicit) ? explicit : resolve(explicit);
  }
  return join(home, '.cache', 'yolo-trt');
}

export interface CachePaths {
  root: string;
  plan: string;
  meta: string;
}

export function enginePaths(cacheDir: string, key: string): CachePaths {
  if (!/^[0-9a-f]{64}$/.test(key)) throw new Error(`not a plan key: ${key}`);
  const dir = join(cacheDir, 'engines');
  return { root: dir, plan: join(dir, `${key}.plan`), meta: join(dir, `${key}.json`) };
}

export function timingCachePath(cacheDir: string, id: string): string {
  return join(cacheDir, 'timing', `${id}.timing`);
}

export function calibrationCachePath(cacheDir: string, id: string): string {
  return join(cacheDir, 'calibration', `${id}.calib`);
}
