import type { NativeBinding } from './binding.js';
import { loadNative } from './load.js';

/**
 * Returns memory that malloc keeps after free() to the OS (glibc's malloc_trim, on a libuv thread: see
 * native/addon/memory.cpp). Called after a backend released its sessions and threads: without it, each
 * model swap left megabytes of freed onnxruntime memory mapped in glibc's per-thread arenas. Best
 * effort: resolves false where there is nothing to do (not glibc, or no addon), never rejects. Calls
 * that arrive while one runs share one follow-up run.
 */
let running: Promise<boolean> | null = null;
let again: Promise<boolean> | null = null;

export function trimNativeHeap(): Promise<boolean> {
  if (running === null) {
    running = trimOnce().finally(() => (running = null));
    return running;
  }
  again ??= running.then(() => {
    again = null;
    return trimNativeHeap();
  });
  return again;
}

async function trimOnce(): Promise<boolean> {
  let trim: NativeBinding['trimNativeHeap'] | undefined;
  try {
    trim = (loadNative() as Partial<NativeBinding>).trimNativeHeap;
  } catch {
    return false; // no addon: the CPU pool works without it
  }
  if (trim === undefined) return false;
  return trim().catch(() => false);
}
