// A digest of everything a native build is made from (native/, CMakeLists.txt, the package version and
// Node-API level), written into each prebuild's manifest so packing can refuse a prebuild that no longer
// matches the sources. Stale binaries are the classic prebuild failure: they load and compute old code.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

function files(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...files(full));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

export function nativeSourceHash(root) {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const hash = createHash('sha256');
  hash.update(`version ${pkg.version} napi ${JSON.stringify(pkg.binary?.napi_versions ?? [])}\n`);
  const list = [join(root, 'CMakeLists.txt'), ...files(join(root, 'native'))]
    .map((f) => relative(root, f).split('\\').join('/'))
    .sort();
  for (const rel of list) {
    hash.update(`${rel}\n`);
    hash.update(readFileSync(join(root, rel)));
  }
  return hash.digest('hex');
}
