// The CUDA build compiles the kernels for every listed architecture: SASS for sm_75, 80, 86, 87 (Jetson
// Orin), 89, 90 and PTX for compute_90 (read from the binary's .nv_fatbin section). Unless CI built
// fewer on purpose (YOLO_TRT_CUDA_ARCHITECTURES, see docs/gpu.md), which this then checks instead.
import { describe, expect, it } from 'vitest';

import { cudaAddonPath, nvccAvailable } from '../helpers/cuda-addon.js';
// @ts-expect-error: a plain .mjs script without type declarations
import { cudaArchs } from '../../scripts/cuda-archs.mjs';

const ALL = [
  'ptx compute_90',
  'sass sm_75',
  'sass sm_80',
  'sass sm_86',
  'sass sm_87',
  'sass sm_89',
  'sass sm_90',
];

/** CMake CUDA_ARCHITECTURES ("75-real;90") -> what the binary must then contain. */
function expected(spec: string | undefined): string[] {
  if (spec === undefined || spec === '') return ALL;
  const out = new Set<string>();
  for (const item of spec.split(';')) {
    const m = /^(\d+)(-real|-virtual)?$/.exec(item.trim());
    if (m === null) continue;
    if (m[2] !== '-virtual') out.add(`sass sm_${m[1]}`);
    if (m[2] !== '-real') out.add(`ptx compute_${m[1]}`);
  }
  return [...out].sort();
}

describe.skipIf(!nvccAvailable())('CUDA build', () => {
  it('embeds the kernels for every listed GPU architecture', () => {
    const archs = (cudaArchs as (file: string) => string[])(cudaAddonPath());
    expect(archs).toEqual(expected(process.env.YOLO_TRT_CUDA_ARCHITECTURES));
  });
});
