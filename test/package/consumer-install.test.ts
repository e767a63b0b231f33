// The package as a user gets it: `npm pack` (with the prepack step that puts the prebuilt addon into
// prebuilds/), installed into a fresh consumer project from the npm registry only (onnxruntime-node's
// download skipped through .npmrc, as the README says) with every compiler on PATH made to fail, then
// the README's TypeScript example compiled with `tsc --strict` and run on bus.jpg. Also what the tarball
// holds: LICENSE, docs, prebuilds, source maps whose sources ship, README links that resolve inside it.
// The install time is printed (a measurement, not an assertion).
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goldenDetections, imagePath, modelPath } from '../helpers/assets.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  engines: { node: string };
};
const COMPILERS = ['cmake', 'cc', 'c++', 'gcc', 'g++', 'clang', 'clang++', 'nvcc', 'make', 'ninja'];

let work: string;
let tarball: string;
let files: string[];
let app: string;
let fakeBin: string;
let install: SpawnSyncReturns<string>;
let installSeconds: number;

/** The environment a user's shell would have: none of npm's script variables or our own settings. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(npm_|NPM_|ONNXRUNTIME_NODE_|YOLO_TRT_|INIT_CWD|NODE_OPTIONS|VITEST)/.test(k)) continue;
    env[k] = v;
  }
  // Node first (the one running the tests), compilers that fail before everything else.
  env.PATH = [fakeBin, path.dirname(process.execPath), process.env.PATH ?? ''].join(path.delimiter);
  return env;
}

function run(cmd: string, args: string[], cwd: string, timeoutMs = 600_000): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env: userEnv(), encoding: 'utf8', timeout: timeoutMs });
}

function devVersion(name: string): string {
  return (
    JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
}

/** Node's version satisfies a plain `>=X.Y.Z` range (the only form package.json uses). */
function satisfiesEngines(range: string, version: string): boolean {
  const want = /^>=(\d+)\.(\d+)\.(\d+)$/.exec(range)?.slice(1).map(Number);
  const have = version.replace(/^v/, '').split('.').map(Number);
  if (want === undefined) throw new Error(`unexpected engines range ${range}`);
  for (let i = 0; i < 3; i++) if ((have[i] ?? 0) !== want[i]) return (have[i] ?? 0) > (want[i] ?? 0);
  return true;
}

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'yolo-trt-consumer-'));
  fakeBin = path.join(work, 'no-compilers');
  app = path.join(work, 'app');
  mkdirSync(fakeBin, { recursive: true });
  mkdirSync(app, { recursive: true });
  for (const tool of COMPILERS) {
    const file = path.join(fakeBin, tool);
    writeFileSync(
      file,
      `#!/bin/sh\necho "${tool} $*" >> "${path.join(work, 'compiler-calls.log')}"\nexit 127\n`,
    );
    chmodSync(file, 0o755);
  }

  // `npm pack` = prepack + prepare (tsc) + pack. prepare would rewrite dist/ under the other test files,
  // and dist/ is already built, so: prepack, then pack without scripts.
  const prepack = spawnSync(process.execPath, ['scripts/prepack.mjs'], { cwd: ROOT, encoding: 'utf8' });
  if (prepack.status !== 0) throw new Error(`prepack failed:\n${prepack.stderr}`);
  const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (pack.status !== 0) throw new Error(`npm pack failed:\n${pack.stderr}`);
  const info = (JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[])[0]!;
  tarball = path.join(work, info.filename);
  files = info.files.map((f) => f.path);

  writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }, null, 2),
  );
  writeFileSync(path.join(app, '.npmrc'), 'onnxruntime-node-install=skip\n');
  const start = performance.now();
  install = run(
    'npm',
    [
      'install',
      tarball,
      `typescript@${devVersion('typescript')}`,
      `@types/node@${devVersion('@types/node')}`,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
    ],
    app,
  );
  installSeconds = (performance.now() - start) / 1000;
  console.log(
    `consumer install (npm ${run('npm', ['--version'], app).stdout.trim()}, Node ${process.version}, ` +
      `prebuilt addon, registry cache): ${installSeconds.toFixed(1)} s`,
  );
}, 900_000);

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('ships the linux-x64 prebuild with its manifest, LICENSE, docs, CHANGELOG, and no tests', () => {
    expect(files).toContain(`prebuilds/${process.platform}-${process.arch}/yolo_trt.cpu.node`);
    expect(files).toContain(`prebuilds/${process.platform}-${process.arch}/yolo_trt.cpu.json`);
    expect(files).toEqual(
      expect.arrayContaining(['LICENSE', 'docs/gpu.md', 'docs/serving.md', 'CHANGELOG.md']),
    );
    expect(readFileSync(path.join(ROOT, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0/);
    expect(files.filter((f) => f.startsWith('test/') || f.startsWith('build/'))).toEqual([]);
  });

  it('has source maps only for sources it ships', () => {
    const missing: string[] = [];
    for (const map of files.filter((f) => f.endsWith('.js.map'))) {
      const { sources } = JSON.parse(readFileSync(path.join(ROOT, map), 'utf8')) as { sources: string[] };
      for (const s of sources) {
        const target = path.posix.join(path.posix.dirname(map), s);
        if (!files.includes(target)) missing.push(`${map} -> ${target}`);
      }
    }
    expect(files.some((f) => f.endsWith('.js.map'))).toBe(true);
    expect(missing).toEqual([]);
  });

  it('has README and docs links that resolve inside the package', () => {
    const broken: string[] = [];
    for (const doc of files.filter((f) => f.endsWith('.md'))) {
      const text = readFileSync(path.join(ROOT, doc), 'utf8');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = m[1]!.split('#')[0]!;
        if (link === '' || /^[a-z]+:/i.test(link)) continue; // anchors, http(s), mailto
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(doc), link));
        if (!files.includes(target) && !files.some((f) => f.startsWith(`${target}/`)))
          broken.push(`${doc}: ${link}`);
      }
    }
    expect(broken).toEqual([]);
  });
});

describe('installed as a dependency, without compilers', () => {
  it('installs from the registry with compilers failing on PATH, and compiles nothing', () => {
    expect(install.status, install.stderr).toBe(0);
    expect(existsSync(path.join(work, 'compiler-calls.log'))).toBe(false);
    expect(existsSync(path.join(app, 'node_modules', 'yolo-trt', 'build'))).toBe(false);
    if (satisfiesEngines(pkg.engines.node, process.version))
      expect(install.stderr).not.toContain('EBADENGINE');
  });

  it("compiles the README's TypeScript example with tsc --strict and detects on bus.jpg from the prebuild", () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Use it in your project'));
    const example = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(example).toBeDefined();
    writeFileSync(path.join(app, 'detect.ts'), example!);
    const tsc = run(
      path.join(app, 'node_modules', '.bin', 'tsc'),
      ['--strict', '--module', 'nodenext', '--target', 'es2022', 'detect.ts'],
      app,
    );
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);

    const out = run(process.execPath, ['detect.js', modelPath(), imagePath('bus.jpg')], app, 120_000);
    expect(out.status, out.stderr).toBe(0);
    const lines = out.stdout.trim().split('\n');
    expect(lines.at(-1)).toBe('addon: prebuild, backend: cpu');
    const golden = goldenDetections().bus ?? [];
    expect(lines.slice(0, -1).map((l) => l.split(' ')[0])).toEqual(golden.map((d) => d.name));
    expect(existsSync(path.join(work, 'compiler-calls.log'))).toBe(false);
  }, 600_000);

  it('loads from CommonJS with require() where Node has require(esm), and with import() everywhere', () => {
    // require() first: Node refuses require() of a module an import() in flight is still loading.
    const cjs = [
      "const [maj, min] = process.versions.node.split('.').map(Number);",
      "const viaRequire = maj > 22 || (maj === 22 && min >= 12) ? typeof require('yolo-trt').Detector : 'function';",
      "import('yolo-trt').then((m) => console.log(typeof m.Detector, viaRequire));",
    ].join('\n');
    writeFileSync(path.join(app, 'load.cjs'), cjs);
    const out = run(process.execPath, ['load.cjs'], app, 60_000);
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout.trim()).toBe('function function');
  }, 120_000);
});
