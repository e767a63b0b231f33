// Image files are read bounded: regular files only (a FIFO or /dev/zero would never end, or would fill
// memory), and their size is checked against maxFileBytes before a byte is read.
import { execFileSync } from 'node:child_process';
import { mkdtemp, open, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_FILE_BYTES, decodeImage, YoloTrtError } from '../../dist/index.js';
import { imagePath } from '../helpers/assets.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'yolo-trt-read-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function failure(p: Promise<unknown>): Promise<YoloTrtError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(YoloTrtError);
    return err as YoloTrtError;
  }
  throw new Error('expected a rejection');
}

describe('decodeImage(path) reads bounded', () => {
  it('the default limit is 256 MiB', () => {
    expect(DEFAULT_MAX_FILE_BYTES).toBe(256 * 1024 * 1024);
  });

  it('refuses /dev/zero at once instead of reading forever', async () => {
    const start = performance.now();
    const err = await failure(decodeImage('/dev/zero'));
    expect(err.code).toBe('ERR_BAD_IMAGE');
    expect(err.message).toMatch(/not a regular file \(a character device\)/);
    expect(performance.now() - start).toBeLessThan(5000);
  });

  it('refuses a FIFO with no writer without hanging on open', async () => {
    const fifo = path.join(tmp, 'pipe.jpg');
    execFileSync('mkfifo', [fifo]);
    const err = await failure(decodeImage(fifo));
    expect(err.code).toBe('ERR_BAD_IMAGE');
    expect(err.message).toMatch(/a FIFO/);
  });

  it('refuses a directory', async () => {
    const err = await failure(decodeImage(tmp));
    expect(err.code).toBe('ERR_BAD_IMAGE');
    expect(err.message).toMatch(/a directory|EISDIR/);
  });

  it('refuses a file over the default limit from its size, without reading it', async () => {
    // A sparse 300 MiB file: no disk used, and reading it would allocate 300 MiB.
    const big = path.join(tmp, 'big.jpg');
    const h = await open(big, 'w');
    await h.truncate(300 * 1024 * 1024);
    await h.close();
    const before = process.memoryUsage().rss;
    const err = await failure(decodeImage(big));
    expect(err.code).toBe('ERR_IMAGE_TOO_LARGE');
    expect(err.message).toMatch(/maxFileBytes \(268435456\)/);
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
  });

  it('honours a smaller maxFileBytes, and reads a file at the limit', async () => {
    const bus = path.join(tmp, 'bus.jpg');
    await copyFile(imagePath('bus.jpg'), bus);
    const size = (
      await open(bus, 'r').then(async (h) => [(await h.stat()).size, await h.close()])
    )[0] as number;
    expect((await failure(decodeImage(bus, { maxFileBytes: size - 1 }))).code).toBe('ERR_IMAGE_TOO_LARGE');
    const ok = await decodeImage(bus, { maxFileBytes: size });
    expect([ok.width, ok.height]).toEqual([810, 1080]);
  });

  it('a missing file is still ERR_IMAGE_NOT_FOUND, an empty one ERR_BAD_IMAGE', async () => {
    expect((await failure(decodeImage(path.join(tmp, 'nope.jpg')))).code).toBe('ERR_IMAGE_NOT_FOUND');
    const empty = path.join(tmp, 'empty.jpg');
    await writeFile(empty, '');
    expect((await failure(decodeImage(empty))).code).toBe('ERR_BAD_IMAGE');
  });
});

describe('Detector and the CLI read files bounded too', () => {
  it('detect("/dev/zero") fails with a code; maxFileBytes is validated and applied', async () => {
    const { Detector } = await import('../../dist/index.js');
    const { modelPath } = await import('../helpers/assets.js');
    await expect(
      Detector.create({ model: modelPath(), backend: 'cpu', maxFileBytes: 0 }),
    ).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
    });
    const detector = await Detector.create({ model: modelPath(), backend: 'cpu', maxFileBytes: 1000 });
    try {
      await expect(detector.detect('/dev/zero')).rejects.toMatchObject({ code: 'ERR_BAD_IMAGE' });
      await expect(detector.detect(imagePath('bus.jpg'))).rejects.toMatchObject({
        code: 'ERR_IMAGE_TOO_LARGE',
      });
    } finally {
      await detector.dispose();
    }
  });

  it('yolo-trt predict /dev/zero reports the code and exits 1', async () => {
    const { execFile } = await import('node:child_process');
    const { modelPath } = await import('../helpers/assets.js');
    const bin = new URL('../../bin/yolo-trt.js', import.meta.url).pathname;
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [bin, 'predict', '/dev/zero', '--model', modelPath()],
        (err, _out, stderr) => {
          resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stderr });
        },
      );
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\[ERR_BAD_IMAGE\] \/dev\/zero: .*not a regular file/);
  });
});
