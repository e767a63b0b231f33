// Dataset loading for val: folder layouts, data.yaml, label paths and label parsing.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { labelPathOf, loadDataset, readLabels } from '../../dist/val/dataset.js';

describe('val dataset', () => {
  it('maps the last /images/ to /labels/ like Ultralytics', () => {
    expect(labelPathOf('/d/images/val/a.jpg')).toBe('/d/labels/val/a.txt');
    expect(labelPathOf('/images/d/images/x/b.png')).toBe('/images/d/labels/x/b.txt');
    expect(labelPathOf('/d/other/c.jpg')).toBe('/d/other/c.txt');
  });

  it('reads boxes and polygons in pixels, refuses malformed lines, treats a missing file as background', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'yolo-trt-ds-'));
    await mkdir(path.join(dir, 'images'), { recursive: true });
    await mkdir(path.join(dir, 'labels'), { recursive: true });
    await writeFile(path.join(dir, 'images/a.jpg'), '');
    await writeFile(path.join(dir, 'labels/a.txt'), '1 0.5 0.5 0.2 0.4\n\n2 0.1 0.1 0.3 0.1 0.2 0.5\n');
    expect(await readLabels(path.join(dir, 'images/a.jpg'), 100, 50)).toEqual([
      { cls: 1, box: [40, 15, 60, 35] },
      { cls: 2, box: [expect.closeTo(10, 9), 5, 30, 25] },
    ]);
    expect(await readLabels(path.join(dir, 'images/none.jpg'), 100, 50)).toEqual([]);
    await writeFile(path.join(dir, 'labels/a.txt'), '1 0.5 0.5 x 0.4\n');
    await expect(readLabels(path.join(dir, 'images/a.jpg'), 100, 50)).rejects.toMatchObject({
      code: 'ERR_DATASET',
    });
    const ds = await loadDataset(dir);
    expect(ds.images).toEqual([path.join(dir, 'images/a.jpg')]);
    await writeFile(path.join(dir, 'd.yaml'), 'path: .\nval: images\nnames: [x, y, z]\n');
    expect(await loadDataset(path.join(dir, 'd.yaml'))).toMatchObject({ names: ['x', 'y', 'z'] });
    await writeFile(path.join(dir, 'e.yaml'), 'train: images\n');
    await expect(loadDataset(path.join(dir, 'e.yaml'))).rejects.toMatchObject({ code: 'ERR_DATASET' });
  });
});
