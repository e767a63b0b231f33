/** The addon loader: candidate order, the explicit override, and one error listing every failure. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { loadNative, nativeCandidates, packageRoot } from '../../dist/native/load.js';
import { repoRoot } from './fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'yolo-trt-load-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('nativeCandidates', () => {
  it('resolves the package root from dist/native/load.js', () => {
    expect(packageRoot).toBe(repoRoot);
  });

  it('lists the .node prebuilds of this platform and the local build (order: ./variants.ts)', () => {
    const dir = join(tmp, 'prebuilds', 'linux-x64');
    mkdirSync(dir, { recursive: true });
    for (const f of ['yolo_trt.node', 'a.cpu.node', 'README.md']) writeFileSync(join(dir, f), '');
    mkdirSync(join(tmp, 'prebuilds', 'linux-arm64'), { recursive: true });
    writeFileSync(join(tmp, 'prebuilds', 'linux-arm64', 'other.node'), '');
    const list = nativeCandidates(tmp, {}, 'linux', 'x64');
    expect(list.map((c) => [c.source, c.path]).sort()).toEqual(
      [
        ['prebuild', join(dir, 'a.cpu.node')],
        ['prebuild', join(dir, 'yolo_trt.node')],
        ['local-build', join(tmp, 'build', 'Release', 'yolo_trt.node')],
      ].sort(),
    );
  });

  it('uses only YOLO_TRT_NATIVE_PATH when it is set', () => {
    expect(nativeCandidates(tmp, { YOLO_TRT_NATIVE_PATH: '/opt/x/yolo_trt.node' }, 'linux', 'x64')).toEqual([
      { source: 'env', path: '/opt/x/yolo_trt.node' },
    ]);
  });
});

describe('loadNative', () => {
  it('loads the local build and memoizes it', () => {
    const a = loadNative();
    expect(loadNative()).toBe(a);
    const caps = a.capabilities();
    expect(caps.variant).toMatch(/^[a-z0-9]+$/);
    expect(typeof caps.cuda.compiled).toBe('boolean');
    expect(Array.isArray(caps.cuda.devices)).toBe(true);
    if (!caps.cuda.compiled) {
      expect(caps.cuda.driver).toBeNull();
      expect(caps.cuda.error).toMatch(/without CUDA/);
    }
    expect(typeof caps.tensorrt.compiled).toBe('boolean');
    const pkg = JSON.parse(
      execFileSync(process.execPath, ['-p', 'JSON.stringify(require("./package.json"))'], {
        cwd: repoRoot,
        encoding: 'utf8',
      }),
    ) as { version: string };
    expect(caps.version).toBe(pkg.version);
  });

  it('reports every failed candidate with ERR_NATIVE_LOAD and the fix', () => {
    const notAddon = join(tmp, 'not-an-addon.node');
    writeFileSync(notAddon, 'this is not a shared object');
    const script = `
      import { loadNative } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'dist', 'native', 'load.js')).href)};
      try { loadNative(); console.log('loaded'); }
      catch (e) { console.log(JSON.stringify({ code: e.code, name: e.name, message: e.message })); }`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, YOLO_TRT_NATIVE_PATH: notAddon },
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    const err = JSON.parse(r.stdout.trim()) as { code: string; name: string; message: string };
    expect(err.code).toBe('ERR_NATIVE_LOAD');
    expect(err.name).toBe('YoloTrtError');
    expect(err.message).toContain(notAddon);
    expect(err.message).toMatch(/invalid ELF header|file too short|not a valid/i);
    expect(err.message).toContain('YOLO_TRT_NATIVE_PATH');
  });
});
