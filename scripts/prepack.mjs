#!/usr/bin/env node
// npm "prepack" script: puts the prebuilt addons into prebuilds/<platform>-<arch>/ before `npm pack` /
// `npm publish`, so a consumer's install compiles nothing (prebuildify layout; the loader and the
// install script look there first). prebuilds/ is never committed.
//
//   - this platform's `cpu` prebuild: built with scripts/prebuild.mjs unless a fresh one is there;
//   - `cuda` (CPU + CUDA kernels, no TensorRT): packaged from build/ when that is a CUDA build with the
//     release architectures (`npm run build:native -- --cuda=ON`), not compiled again here;
//   - any other prebuild already in prebuilds/ (linux-arm64 from scripts/cross-arm64, TensorRT and
//     JetPack ones from the release workflow) is kept when it was built from these sources, and removed
//     with a warning when not: a stale binary would load and run old code.
// YOLO_TRT_PREPACK_BUILD=0 packs what is there without compiling (still refusing stale prebuilds).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { nativeSourceHash } from './native-source-hash.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const prebuilds = join(root, 'prebuilds');
const hash = nativeSourceHash(root);
const here = `${process.platform}-${process.arch}`;

function manifestOf(nodeFile) {
  try {
    return JSON.parse(readFileSync(nodeFile.replace(/\.node$/, '.json'), 'utf8'));
  } catch {
    return null;
  }
}

function prebuild(args) {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'prebuild.mjs'), ...args], {
    cwd: root,
    stdio: ['ignore', 2, 2], // stdout stays clean for `npm pack --json`
  });
  return r.status === 0;
}

// 1. Drop stale prebuilds (any platform).
if (existsSync(prebuilds)) {
  for (const dir of readdirSync(prebuilds)) {
    for (const file of readdirSync(join(prebuilds, dir))) {
      if (!file.endsWith('.node')) continue;
      const path = join(prebuilds, dir, file);
      const m = manifestOf(path);
      if (m?.sourceHash !== hash) {
        console.warn(`prepack: removing ${dir}/${file}: built from other sources than these (rebuild it)`);
        rmSync(path);
        rmSync(path.replace(/\.node$/, '.json'), { force: true });
      }
    }
  }
}

const build = process.env.YOLO_TRT_PREPACK_BUILD !== '0';
const has = (variant) => existsSync(join(prebuilds, here, `yolo_trt.${variant}.node`));

// 2. This platform's CPU prebuild.
if (!has('cpu') && build) {
  console.error(`prepack: building the ${here} cpu prebuild (about a minute on 2 cores)`);
  if (!prebuild(['--variant=cpu'])) process.exit(1);
}

// 3. The CUDA variant from an existing matching build (cheap), where there is one.
if (!has('cuda') && build && existsSync(join(root, 'build', 'CMakeCache.txt'))) {
  const cache = readFileSync(join(root, 'build', 'CMakeCache.txt'), 'utf8');
  if (/^YOLO_TRT_CONFIGURED:INTERNAL=cuda;ON;OFF$/m.test(cache)) {
    if (!prebuild(['--variant=cuda', '--from-build=build']))
      console.warn('prepack: build/ could not be packaged as the cuda prebuild; packing without it');
  }
}

const shipped = existsSync(prebuilds)
  ? readdirSync(prebuilds).flatMap((dir) =>
      readdirSync(join(prebuilds, dir))
        .filter((f) => f.endsWith('.node'))
        .map((f) => `${dir}/${f}`),
    )
  : [];
if (!shipped.some((f) => f.startsWith(`${here}/`))) {
  console.error(
    `prepack: no prebuild for ${here}; a consumer would have to compile (set YOLO_TRT_PREPACK_BUILD=1)`,
  );
  process.exit(1);
}
console.error(`prepack: prebuilds ${shipped.join(', ')}`);
