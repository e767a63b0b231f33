// `yolo-trt doctor` as a user runs it: exit 0 with the loaded binary, exit 1 (with the reason, and 'auto'
// picking nothing) when the addon cannot load, so a health check notices before predict fails.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(REPO, 'bin/yolo-trt.js');

function doctor(
  env: NodeJS.ProcessEnv,
  args: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, 'doctor', ...args],
      { cwd: REPO, env: { ...process.env, ...env } },
      (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
      },
    );
  });
}

describe('yolo-trt doctor', () => {
  it('exits 0 when the addon loads, naming where it came from', async () => {
    const r = await doctor({});
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^binary\s+\S+ variant from /m);
  });

  it('exits 1 with ERR_NATIVE_LOAD when the addon cannot load, and auto picks nothing', async () => {
    const env = { YOLO_TRT_NATIVE_PATH: path.join(REPO, 'no-such-addon.node') };
    const r = await doctor(env);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^binary\s+NOT LOADED/m);
    expect(r.stdout).toMatch(/^auto picks\s+none$/m);
    expect(r.stderr).toMatch(/^error \[ERR_NATIVE_LOAD\]: /m);
    const json = await doctor(env, ['--json']);
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as { native: { loaded: boolean } }).native.loaded).toBe(false);
  });
});
