#!/usr/bin/env node
// Lists the CUDA code embedded in a binary (SASS per sm_XY, PTX per compute_XY), without cuobjdump
// (CUDA runtime-only installs and CI images do not have it):
//
//   node scripts/cuda-archs.mjs build/Release/yolo_trt.node     ->  sass sm_75 ... ptx compute_90
//
// Reads the ELF section .nv_fatbin, a sequence of fatbinary containers {u32 magic 0xBA55ED50, u16 version,
// u16 header size, u64 payload size}, whose payload is a sequence of entries {u16 kind (1 = PTX,
// 2 = SASS), u16 flags, u32 header size, u64 payload size, ..., u32 arch at offset 28}. Also imported by
// test/gpu-free/cuda-build.test.ts.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The .nv_fatbin section of an ELF64 little-endian file, or null. */
export function fatbinSection(file) {
  const b = readFileSync(file);
  if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1)
    throw new Error(`${file} is not an ELF64 LE file`);
  const shoff = Number(b.readBigUInt64LE(0x28));
  const shentsize = b.readUInt16LE(0x3a);
  const shnum = b.readUInt16LE(0x3c);
  const shstrndx = b.readUInt16LE(0x3e);
  const section = (i) => {
    const o = shoff + i * shentsize;
    return {
      name: b.readUInt32LE(o),
      offset: Number(b.readBigUInt64LE(o + 0x18)),
      size: Number(b.readBigUInt64LE(o + 0x20)),
    };
  };
  const names = section(shstrndx);
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    const start = names.offset + s.name;
    const name = b.toString('latin1', start, b.indexOf(0, start));
    if (name === '.nv_fatbin') return b.subarray(s.offset, s.offset + s.size);
  }
  return null;
}

/** ['sass sm_75', ..., 'ptx compute_90'], sorted and unique. */
export function cudaArchs(file) {
  const data = fatbinSection(file);
  if (data === null) return [];
  const found = new Set();
  let pos = 0;
  while (pos + 16 <= data.length) {
    if (data.readUInt32LE(pos) !== 0xba55ed50) {
      pos += 8;
      continue;
    }
    const header = data.readUInt16LE(pos + 6);
    const size = Number(data.readBigUInt64LE(pos + 8));
    let entry = pos + header;
    const end = entry + size;
    while (entry + 32 <= end) {
      const kind = data.readUInt16LE(entry);
      const eheader = data.readUInt32LE(entry + 4);
      const esize = Number(data.readBigUInt64LE(entry + 8));
      const arch = data.readUInt32LE(entry + 28);
      if (kind === 1) found.add(`ptx compute_${arch}`);
      else if (kind === 2) found.add(`sass sm_${arch}`);
      entry += eheader + esize;
    }
    pos = end;
  }
  return [...found].sort();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node scripts/cuda-archs.mjs <binary>');
    process.exit(2);
  }
  const archs = cudaArchs(file);
  if (archs.length === 0) {
    console.error(`${file}: no CUDA code`);
    process.exit(1);
  }
  console.log(archs.join('\n'));
}
