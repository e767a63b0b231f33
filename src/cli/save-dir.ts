import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Ultralytics' run folder: `project/name` (default runs/detect/predict); when it exists and `existOk` is
 * not set, the first free `name2`, `name3`, ... Created before returning.
 */
export async function runDir(project: string, name: string, existOk: boolean): Promise<string> {
  let dir = join(project, name);
  if (!existOk && (await exists(dir))) {
    for (let n = 2; ; n++) {
      const candidate = join(project, `${name}${n}`);
      if (!(await exists(candidate))) {
        dir = candidate;
        break;
      }
    }
  }
  await mkdir(dir, { recursive: true });
  return dir;
}
