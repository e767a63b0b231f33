#!/usr/bin/env node
// Builds the native addon with cmake-js into build/Release/yolo_trt.node.
//
//   node scripts/build-native.mjs [--cuda=AUTO|ON|OFF] [--tensorrt=AUTO|ON|OFF] [--tensorrt-root=DIR]
//                                 [--variant=TAG] [--debug] [--clean] [--parallel=N] [--verbose]
//
// The same settings can come from the environment: YOLO_TRT_CUDA, YOLO_TRT_TENSORRT, TENSORRT_ROOT,
// YOLO_TRT_VARIANT, YOLO_TRT_BUILD_PARALLEL. Nothing is downloaded: package.json declares
// binary.napi_versions, so cmake-js takes the Node-API headers from the node-api-headers package.
//
// CUDA AUTO compiles the kernels only where TensorRT's headers are found too (CMakeLists.txt): a consumer
// without TensorRT gets the CPU build in about a minute instead of kernels it cannot use. In yolo-trt's
// own git checkout, AUTO means ON where nvcc is found, because the test suite checks the kernels.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));

function fail(message) {
  console.error(`\nyolo-trt: native build failed: ${message}`);
  process.exit(1);
}

function parseArgs(argv) {
  const opts = {
    cuda: process.env.YOLO_TRT_CUDA ?? 'AUTO',
    tensorrt: process.env.YOLO_TRT_TENSORRT ?? 'AUTO',
    tensorrtRoot: process.env.TENSORRT_ROOT ?? '',
    variant: process.env.YOLO_TRT_VARIANT ?? '',
    parallel: Number(process.env.YOLO_TRT_BUILD_PARALLEL ?? availableParallelism()),
    debug: false,
    clean: false,
    verbose: false,
  };
  for (const arg of argv) {
    const [key, value] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, ''];
    switch (key) {
      case '--cuda':
        opts.cuda = value;
        break;
      case '--tensorrt':
        opts.tensorrt = value;
        break;
      case '--tensorrt-root':
        opts.tensorrtRoot = value;
        break;
      case '--variant':
        opts.variant = value;
        break;
      case '--parallel':
      case '-j':
        opts.parallel = Number(value);
        break;
      case '--debug':
        opts.debug = true;
        break;
      case '--clean':
        opts.clean = true;
        break;
      case '--verbose':
        opts.verbose = true;
        break;
      case '--help':
      case '-h':
        console.log(
          'Usage: node scripts/build-native.mjs [--cuda=AUTO|ON|OFF] [--tensorrt=AUTO|ON|OFF] ' +
            '[--tensorrt-root=DIR] [--variant=TAG] [--debug] [--clean] [--parallel=N] [--verbose]',
        );
        process.exit(0);
        break;
      default:
        fail(`unknown argument '${arg}' (see --help)`);
    }
  }
  for (const name of ['cuda', 'tensorrt']) {
    opts[name] = String(opts[name]).toUpperCase();
    if (!['AUTO', 'ON', 'OFF'].includes(opts[name])) {
      fail(`expected AUTO, ON or OFF for --${name} but received '${opts[name]}'`);
    }
  }
  if (!Number.isInteger(opts.parallel) || opts.parallel < 1) {
    fail(`expected a positive integer for --parallel but received '${opts.parallel}'`);
  }
  return opts;
}

function checkCmake() {
  const r = spawnSync('cmake', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    fail(
      'cmake was not found on PATH. Install CMake >= 3.19 (Debian/Ubuntu: `apt install cmake`; ' +
        'macOS: `brew install cmake`), plus a C++17 compiler, then run `npm run build:native`.',
    );
  }
  const m = /cmake version (\d+)\.(\d+)/.exec(r.stdout);
  if (m && (Number(m[1]) < 3 || (Number(m[1]) === 3 && Number(m[2]) < 19))) {
    fail(`CMake ${m[1]}.${m[2]} is too old: yolo-trt needs CMake >= 3.19.`);
  }
}

function nvccFound() {
  if (existsSync('/usr/local/cuda/bin/nvcc')) return true;
  return spawnSync('nvcc', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** variant, cuda, tensorrt of the configured build (CMakeLists.txt caches them), or null. */
function configured(opts) {
  try {
    const cache = readFileSync(join(root, 'build', 'CMakeCache.txt'), 'utf8');
    const m = /^YOLO_TRT_CONFIGURED:INTERNAL=(.*)$/m.exec(cache);
    if (m === null) return null;
    const [variant, cuda, tensorrt] = m[1].split(';');
    return { variant, cuda: cuda === 'ON', tensorrt: tensorrt === 'ON', debug: opts.debug };
  } catch {
    return null;
  }
}

/** One line before compiling: what gets built and about how long it takes (2-core machine figures). */
function announce(c, opts) {
  if (c === null) return;
  const parts = ['CPU pipelines'];
  if (c.cuda) parts.push('CUDA kernels');
  if (c.tensorrt) parts.push('the TensorRT backend');
  const minutes = c.cuda ? '3-8 minutes' : 'about 1 minute';
  console.log(
    `yolo-trt: building the '${c.variant}' addon (${parts.join(', ')}) with -j${opts.parallel}: ` +
      `${minutes} on 2 cores.${c.cuda ? '' : ' No CUDA kernels: TensorRT was not found or CUDA is OFF (see docs/gpu.md).'}`,
  );
}

function cmakeJs(command, opts) {
  let bin;
  try {
    bin = require.resolve('cmake-js/bin/cmake-js');
  } catch {
    fail('the cmake-js package is missing: run `npm install` first.');
  }
  const args = [bin, command, '--directory', root, '--parallel', String(opts.parallel)];
  if (opts.debug) args.push('--debug');
  if (!opts.verbose) args.push('--log-level', 'warn');
  const defines = {
    YOLO_TRT_CUDA: opts.cuda,
    YOLO_TRT_TENSORRT: opts.tensorrt,
    YOLO_TRT_VARIANT: opts.variant,
  };
  if (opts.tensorrtRoot) defines.TENSORRT_ROOT = opts.tensorrtRoot;
  for (const [k, v] of Object.entries(defines)) args.push(`--CD${k}=${v}`);
  console.log(
    `yolo-trt: cmake-js ${command} (CUDA ${opts.cuda}, TensorRT ${opts.tensorrt}, -j${opts.parallel})`,
  );
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (r.error) fail(r.error.message);
  return r.status === 0;
}

const opts = parseArgs(process.argv.slice(2));
const devCheckout = existsSync(join(root, '.git')) && existsSync(join(root, 'test'));
if (opts.cuda === 'AUTO' && devCheckout && process.env.YOLO_TRT_CUDA === undefined && nvccFound()) {
  console.log(
    'yolo-trt: development checkout with nvcc: compiling the CUDA kernels (--cuda=ON; the tests check them)',
  );
  opts.cuda = 'ON';
}
checkCmake();
// configure always runs, so changed options (--cuda=OFF ...) reach an existing build directory.
if (opts.clean) cmakeJs('clean', opts);
let ok = cmakeJs('configure', opts);
if (ok) {
  announce(configured(opts), opts);
  ok = cmakeJs('build', opts);
}
if (!ok) {
  fail(
    'see the compiler/CMake output above. Common fixes: install a C++17 compiler (g++ >= 9 or clang >= 10; ' +
      'Debian/Ubuntu: `apt install build-essential cmake`), build without GPU code (`npm run build:native -- ' +
      '--cuda=OFF --tensorrt=OFF`), or start clean (`npm run build:native -- --clean`).',
  );
}
const out = join(root, 'build', opts.debug ? 'Debug' : 'Release', 'yolo_trt.node');
if (!existsSync(out)) fail(`the build finished but ${out} is missing.`);
console.log(`yolo-trt: built ${out}`);
