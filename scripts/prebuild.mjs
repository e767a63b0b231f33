#!/usr/bin/env node
// Builds one prebuilt variant of the addon with cmake-js (prebuildify only drives node-gyp) and places it
// where the loader looks (src/native/variants.ts):
//
//   prebuilds/<platform>-<arch>/yolo_trt.<variant>.node
//   prebuilds/<platform>-<arch>/yolo_trt.<variant>.json   what it needs: CUDA, TensorRT, JetPack, libraries
//
//   node scripts/prebuild.mjs --variant=<cpu|cuda|tensorrt10|tensorrt8|jetpack5|jetpack6|jetpack7>
//        [--tensorrt-root=DIR] [--cuda-architectures="87"] [--parallel=N] [--arch=arm64] [--from-build=DIR]
//
//   --arch=arm64       cross-compile on x86_64 Linux with Debian's aarch64-linux-gnu toolchain (cpu only;
//                      scripts/cross-arm64 then checks the result under qemu-user)
//   --from-build=DIR   package an existing build (e.g. `build`, from `npm run build:native -- --cuda=ON`)
//                      instead of compiling again, if its CMake configuration is exactly this variant's
//
// Each manifest records sourceHash (scripts/native-source-hash.mjs): scripts/prepack.mjs refuses to pack
// a prebuild whose sources changed since it was built.
//
// Variants (docs/gpu.md has the install matrix):
//   cpu         no CUDA: any Linux/macOS/Windows machine
//   cuda        CPU + CUDA kernels, cudart static, no TensorRT (loads anywhere; GPU work needs TensorRT)
//   tensorrt10  x86_64/sbsa servers: CUDA 12.x kernels + TensorRT 10 (libnvinfer.so.10)
//   jetpack5    Jetson Xavier/Orin, L4T R35: CUDA 11.4, TensorRT 8.5, sm_72 + sm_87
//   jetpack6    Jetson Orin, L4T R36: CUDA 12.6, TensorRT 10.3, sm_87
//   jetpack7    Jetson Thor, L4T R38: CUDA 13, TensorRT 10.x, sm_110
// Build a variant on a machine (or container) that has its toolchain: scripts/build-jetson and
// docker/jetpack6.Dockerfile do it for Jetson; .github/workflows/prebuild.yml for all.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { cudaArchs } from './cuda-archs.mjs';
import { nativeSourceHash } from './native-source-hash.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const VARIANTS = {
  cpu: { cuda: false, tensorrt: null, jetpack: null, archs: null },
  cuda: { cuda: true, tensorrt: null, jetpack: null, archs: '75-real;80-real;86-real;87-real;89-real;90' },
  tensorrt10: { cuda: true, tensorrt: 10, jetpack: null, archs: '75-real;80-real;86-real;89-real;90' },
  tensorrt8: { cuda: true, tensorrt: 8, jetpack: null, archs: '75-real;80-real;86-real;89-real;90' },
  jetpack5: { cuda: true, tensorrt: 8, jetpack: 5, archs: '72-real;87' },
  jetpack6: { cuda: true, tensorrt: 10, jetpack: 6, archs: '87' },
  jetpack7: { cuda: true, tensorrt: 10, jetpack: 7, archs: '110' },
};

function fail(message) {
  console.error(`prebuild: ${message}`);
  process.exit(1);
}

const opts = {
  variant: '',
  tensorrtRoot: process.env.TENSORRT_ROOT ?? '',
  archs: '',
  parallel: availableParallelism(),
  arch: process.arch,
  fromBuild: '',
};
for (const arg of process.argv.slice(2)) {
  const [k, v = ''] = arg.split(/=(.*)/s);
  if (k === '--variant') opts.variant = v;
  else if (k === '--arch') opts.arch = v;
  else if (k === '--from-build') opts.fromBuild = v;
  else if (k === '--tensorrt-root') opts.tensorrtRoot = v;
  else if (k === '--cuda-architectures') opts.archs = v;
  else if (k === '--parallel') opts.parallel = Number(v);
  else fail(`unknown argument ${arg}`);
}
const spec = VARIANTS[opts.variant];
if (spec === undefined)
  fail(`expected --variant=<${Object.keys(VARIANTS).join('|')}> but received '${opts.variant}'`);

const cross = opts.arch !== process.arch;
if (cross && !(process.platform === 'linux' && opts.arch === 'arm64' && opts.variant === 'cpu'))
  fail(`cross builds: only --arch=arm64 --variant=cpu on Linux (asked: ${opts.arch} ${opts.variant})`);
const sourceHash = nativeSourceHash(root);
const defines = {
  YOLO_TRT_CUDA: spec.cuda ? 'ON' : 'OFF',
  YOLO_TRT_TENSORRT: spec.tensorrt === null ? 'OFF' : 'ON',
  YOLO_TRT_VARIANT: opts.variant,
};
if (spec.cuda) defines.YOLO_TRT_CUDA_ARCHITECTURES = opts.archs || spec.archs;
if (opts.tensorrtRoot) defines.TENSORRT_ROOT = opts.tensorrtRoot;
if (cross) {
  Object.assign(defines, {
    CMAKE_SYSTEM_NAME: 'Linux',
    CMAKE_SYSTEM_PROCESSOR: 'aarch64',
    CMAKE_C_COMPILER: 'aarch64-linux-gnu-gcc',
    CMAKE_CXX_COMPILER: 'aarch64-linux-gnu-g++',
  });
}

let buildDir = join(root, `build-prebuild-${opts.variant}${cross ? `-${opts.arch}` : ''}`);
if (opts.fromBuild !== '') {
  // Reuse only a build configured exactly like this variant: same variant tag, CUDA/TensorRT and archs.
  buildDir = join(root, opts.fromBuild);
  const cache = readFileSync(join(buildDir, 'CMakeCache.txt'), 'utf8');
  const value = (name) => new RegExp(`^${name}:[A-Z]+=(.*)$`, 'm').exec(cache)?.[1] ?? null;
  const want = `${opts.variant};${spec.cuda ? 'ON' : 'OFF'};${spec.tensorrt === null ? 'OFF' : 'ON'}`;
  if (value('YOLO_TRT_CONFIGURED') !== want)
    fail(`${opts.fromBuild} is configured as '${value('YOLO_TRT_CONFIGURED')}', not '${want}'`);
  if (spec.cuda && value('YOLO_TRT_CUDA_ARCHITECTURES') !== defines.YOLO_TRT_CUDA_ARCHITECTURES)
    fail(
      `${opts.fromBuild} has CUDA architectures ${value('YOLO_TRT_CUDA_ARCHITECTURES')}, not ${defines.YOLO_TRT_CUDA_ARCHITECTURES}`,
    );
  // Bring it up to date with the sources (a no-op when it is), so sourceHash describes the binary.
  const cmake = spawnSync(
    'cmake',
    ['--build', buildDir, '--config', 'Release', '--parallel', String(opts.parallel)],
    {
      stdio: 'inherit',
    },
  );
  if (cmake.status !== 0) fail(`could not bring ${opts.fromBuild} up to date`);
} else {
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const args = [
    cmakeJs,
    'rebuild',
    '--directory',
    root,
    '--out',
    buildDir,
    '--parallel',
    String(opts.parallel),
  ];
  for (const [k, v] of Object.entries(defines)) args.push(`--CD${k}=${v}`);
  console.log(`prebuild ${opts.variant}: cmake-js ${args.slice(2).join(' ')}`);
  const built = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (built.status !== 0) fail(`the ${opts.variant} build failed (see above)`);
}
const binary = join(buildDir, 'Release', 'yolo_trt.node');
if (!existsSync(binary)) fail(`${binary} is missing after the build`);

// What the build actually used, from its CMake cache.
const cache = readFileSync(join(buildDir, 'CMakeCache.txt'), 'utf8');
const cacheValue = (name) => new RegExp(`^${name}:[A-Z]+=(.*)$`, 'm').exec(cache)?.[1] ?? null;
let cudaVersion = null;
if (spec.cuda) {
  const nvcc = cacheValue('CMAKE_CUDA_COMPILER');
  const out = nvcc ? (spawnSync(nvcc, ['--version'], { encoding: 'utf8' }).stdout ?? '') : '';
  cudaVersion = /release (\d+\.\d+)/.exec(out)?.[1] ?? null;
}
let tensorrtVersion = null;
if (spec.tensorrt !== null) {
  const inc = cacheValue('TENSORRT_INCLUDE_DIR');
  const header = inc ? readFileSync(join(inc, 'NvInferVersion.h'), 'utf8') : '';
  const part = (p) => new RegExp(`#define (?:NV_TENSORRT_${p}|TRT_${p}_ENTERPRISE) (\\d+)`).exec(header)?.[1];
  tensorrtVersion = [part('MAJOR'), part('MINOR'), part('PATCH')].join('.');
  if (Number(part('MAJOR')) !== spec.tensorrt) {
    fail(
      `variant ${opts.variant} expects TensorRT ${spec.tensorrt} but the headers in ${inc} are ${tensorrtVersion}`,
    );
  }
}
// The shared libraries the binary needs beyond the C/C++ runtime (from its ELF dynamic section).
let requires = [];
if (process.platform === 'linux') {
  const r = spawnSync('readelf', ['-d', binary], { encoding: 'utf8' });
  requires = [...(r.stdout ?? '').matchAll(/\(NEEDED\)\s+Shared library: \[(.+?)\]/g)]
    .map((m) => m[1])
    .filter((lib) => lib.startsWith('libnv'));
}

const manifest = {
  variant: opts.variant,
  platform: process.platform,
  arch: opts.arch,
  version: pkg.version,
  napi: pkg.binary?.napi_versions?.[0] ?? 8,
  cuda: cudaVersion,
  cudaArchitectures: spec.cuda ? cudaArchs(binary) : [],
  tensorrt: tensorrtVersion,
  tensorrtMajor: spec.tensorrt,
  jetpack: spec.jetpack,
  requires,
  sourceHash,
  builtAt: new Date().toISOString(),
};
const outDir = join(root, 'prebuilds', `${process.platform}-${opts.arch}`);
mkdirSync(outDir, { recursive: true });
copyFileSync(binary, join(outDir, `yolo_trt.${opts.variant}.node`));
writeFileSync(join(outDir, `yolo_trt.${opts.variant}.json`), JSON.stringify(manifest, null, 2) + '\n');

// Smoke test where it can run: a variant without TensorRT loads on any machine of its platform.
if (spec.tensorrt === null && !cross) {
  const probe = spawnSync(
    process.execPath,
    [
      '-e',
      `process.stdout.write(require(${JSON.stringify(join(outDir, `yolo_trt.${opts.variant}.node`))}).capabilities().variant)`,
    ],
    { encoding: 'utf8' },
  );
  if (probe.status !== 0 || probe.stdout !== opts.variant)
    fail(`the built ${opts.variant} addon does not load: ${probe.stderr}`);
}
console.log(`prebuild: wrote ${join(outDir, `yolo_trt.${opts.variant}.node`)}`);
console.log(JSON.stringify(manifest, null, 2));
