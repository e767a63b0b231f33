// Which CUDA-built addon the GPU-free CUDA tests use, and whether this machine is expected to have one.
//   YOLO_TRT_CUDA_ADDON=<file>   explicit
//   build-cuda/Release/yolo_trt.node  (a separate CUDA build, e.g. `npx cmake-js compile -O build-cuda --CDYOLO_TRT_CUDA=ON`)
//   build/Release/yolo_trt.node       (the default build: in this git checkout CUDA is compiled in when nvcc
//                                      is found; CI sets YOLO_TRT_CUDA=ON)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

export function cudaAddonPath(): string {
  const explicit = process.env.YOLO_TRT_CUDA_ADDON;
  if (explicit !== undefined && explicit !== '') return path.resolve(explicit);
  const separate = path.join(ROOT, 'build-cuda', 'Release', 'yolo_trt.node');
  return existsSync(separate) ? separate : path.join(ROOT, 'build', 'Release', 'yolo_trt.node');
}

/** nvcc on this machine: then the build must have CUDA in it (a build without it is a failure, not a skip). */
export function nvccAvailable(): boolean {
  if (existsSync('/usr/local/cuda/bin/nvcc')) return true;
  return spawnSync('nvcc', ['--version'], { stdio: 'ignore' }).status === 0;
}
