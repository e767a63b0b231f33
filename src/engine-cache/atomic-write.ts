/**
 * Atomic file writes: write a temporary file in the same directory, flush it to disk, then rename it over
 * the target. Readers (another process loading the same cached engine) see the old file or the whole new
 * one, never a torn plan; a crash mid-write leaves only a *.tmp file, which listCacheEntries ignores.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function writeFileAtomic(target: string, data: Uint8Array | string): Promise<void> {
  const dir = dirname(target);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let renamed = false;
  try {
    const handle = await open(tmp, 'wx', 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, target);
    renamed = true;
    // Persist the rename itself (the directory entry); not every platform lets us open a directory.
    try {
      const d = await open(dir, 'r');
      try {
        await d.sync();
      } finally {
        await d.close();
      }
    } catch {
      // best effort
    }
  } finally {
    if (!renamed) await unlink(tmp).catch(() => undefined);
  }
}
