// Vitest global setup: every test's temporary files go under one folder that is removed after the run,
// so fixtures made with mkdtemp (models, caches, corrupt images) never pile up in /tmp.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(path.join(tmpdir(), 'yolo-trt-tests-'));
  // Test workers are forked after this runs, so they inherit it and os.tmpdir() returns it.
  process.env.TMPDIR = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
