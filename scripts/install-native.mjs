#!/usr/bin/env node
// npm "install" script: make sure a working native addon exists, without downloading anything.
//   1. a prebuild in prebuilds/<platform>-<arch>/ that loads (not in yolo-trt's own git checkout), or an
//      existing build/Release/yolo_trt.node that loads -> nothing to do, nothing compiled;
//   2. otherwise build from source with scripts/build-native.mjs (cmake-js);
//   3. if that fails, explain and exit non-zero.
// Each candidate is test-loaded in a child process: a binary for the wrong GPU stack can crash, not throw.
// Set YOLO_TRT_SKIP_NATIVE_BUILD=1 to skip this script entirely (e.g. when the addon comes from elsewhere).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function loads(file) {
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(file)}).capabilities()`], {
    stdio: 'ignore',
    timeout: 30_000,
  });
  return r.status === 0;
}

if (process.env.YOLO_TRT_SKIP_NATIVE_BUILD === '1') process.exit(0);

// In yolo-trt's own git checkout the local build is what is developed and tested: prebuilds left there by
// an earlier `npm pack` must not stand in for it.
const devCheckout = existsSync(join(root, '.git')) && existsSync(join(root, 'test'));
const prebuildDir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
const candidates =
  existsSync(prebuildDir) && !devCheckout
    ? readdirSync(prebuildDir)
        .filter((f) => f.endsWith('.node'))
        .map((f) => join(prebuildDir, f))
    : [];
candidates.push(join(root, 'build', 'Release', 'yolo_trt.node'));
const usable = candidates.find((file) => existsSync(file) && loads(file));
if (usable) {
  console.log(`yolo-trt: using native addon ${usable}`);
  process.exit(0);
}

console.log(
  devCheckout
    ? 'yolo-trt: development checkout: building the native addon from source'
    : `yolo-trt: no prebuilt addon fits ${process.platform}-${process.arch}; building it from source ` +
        '(CMake >= 3.19 and a C++17 compiler; about a minute for the CPU build on 2 cores)',
);
const build = spawnSync(process.execPath, [join(root, 'scripts', 'build-native.mjs')], {
  cwd: root,
  stdio: 'inherit',
});
if (build.status !== 0) {
  console.error(
    [
      '',
      'yolo-trt: could not build the native addon, so the package cannot run.',
      '  Needs: CMake >= 3.19 and a C++17 compiler (Debian/Ubuntu: `apt install build-essential cmake`;',
      '         macOS: `xcode-select --install && brew install cmake`).',
      '  Then:  npm rebuild yolo-trt   (or, in a checkout: npm run build:native)',
      '  GPU toolchain problems: build the CPU variant with `npm run build:native -- --cuda=OFF --tensorrt=OFF`.',
      '',
    ].join('\n'),
  );
  process.exit(1);
}
