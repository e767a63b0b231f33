// Video through the system ffmpeg: frames must equal cv2.VideoCapture's (Debian python3-opencv) pixel for
// pixel on clips of every container we list, detections on them must match, and streams that stall or
// fail must be reported, not hang.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Detector } from '../../dist/index.js';
import { readFrames } from '../../dist/sources/ffmpeg.js';
import { imagePath, modelPath } from '../helpers/assets.js';

// Real inference, ffmpeg and python3-opencv on a shared 2-core machine: allow time.
vi.setConfig({ testTimeout: 240000, hookTimeout: 240000 });

const run = promisify(execFile);
const HAS_FFMPEG = spawnSync('ffmpeg', ['-version']).status === 0;
const HAS_CV2 = spawnSync('/usr/bin/python3', ['-c', 'import cv2']).status === 0;

// Reads videos (argument pairs VIDEO OUT) with cv2.VideoCapture and writes their frames, packed BGR,
// to OUT; prints one JSON line per video.
const CV2_DUMP = `
import cv2, sys, json
args = sys.argv[1:]
for video, dump in zip(args[0::2], args[1::2]):
    cap = cv2.VideoCapture(video)
    n = 0; w = h = 0
    with open(dump, 'wb') as out:
        while True:
            ok, f = cap.read()
            if not ok: break
            h, w = f.shape[:2]; out.write(f.tobytes()); n += 1
    print(json.dumps({"frames": n, "width": w, "height": h}))
`;

let dir: string;
const clips: Record<string, string> = {};

/** A clip of moving 320x240 crops of bus.jpg (real image content, real motion). */
async function makeClip(name: string, codecArgs: string[]): Promise<string> {
  const out = path.join(dir, name);
  await run('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-loop',
    '1',
    '-framerate',
    '10',
    '-i',
    imagePath('bus.jpg'),
    '-t',
    '1',
    '-vf',
    "crop=320:240:x='50+n*20':y='300+n*5'",
    ...codecArgs,
    out,
  ]);
  return out;
}

async function ourFrames(file: string, options = {}) {
  const frames = [];
  for await (const f of readFrames({ source: file, kind: 'file' }, options)) frames.push(f);
  return frames;
}

describe.skipIf(!HAS_FFMPEG)('video frames through ffmpeg', () => {
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'yolo-trt-video-'));
    clips['mp4'] = await makeClip('clip.mp4', ['-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
    clips['mkv'] = await makeClip('clip.mkv', ['-c:v', 'mpeg4']);
    clips['avi'] = await makeClip('clip.avi', ['-c:v', 'mjpeg']);
    clips['mov'] = await makeClip('clip.mov', ['-c:v', 'libx264', '-pix_fmt', 'yuv444p']);
    clips['webm'] = await makeClip('clip.webm', ['-c:v', 'libvpx-vp9', '-deadline', 'realtime']);
    clips['ts'] = await makeClip('clip.ts', ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-f', 'mpegts']);
  });

  it.skipIf(!HAS_CV2)(
    'equals cv2.VideoCapture frame by frame on mp4, mkv, avi, mov, webm (max pixel diff 0)',
    async () => {
      const report: Record<string, { frames: number; maxDiff: number }> = {};
      for (const [kind, file] of Object.entries(clips)) {
        if (kind === 'ts') continue;
        const dump = path.join(dir, `${kind}.cv2.raw`);
        const { stdout } = await run('/usr/bin/python3', ['-c', CV2_DUMP, file, dump]);
        const info = JSON.parse(stdout) as { frames: number; width: number; height: number };
        const ref = await readFile(dump);
        const frames = await ourFrames(file);
        expect(frames.length).toBe(info.frames);
        let maxDiff = 0;
        frames.forEach((f, i) => {
          expect([f.width, f.height, f.index]).toEqual([info.width, info.height, i]);
          const size = f.width * f.height * 3;
          const r = ref.subarray(i * size, (i + 1) * size);
          for (let k = 0; k < size; k++) maxDiff = Math.max(maxDiff, Math.abs(f.data[k]! - r[k]!));
        });
        report[kind] = { frames: frames.length, maxDiff };
      }
      console.log('ffmpeg vs cv2.VideoCapture:', JSON.stringify(report));
      for (const r of Object.values(report)) expect(r).toMatchObject({ frames: 10, maxDiff: 0 });
    },
  );

  describe('with a detector', () => {
    let detector: Detector;
    beforeAll(async () => {
      detector = await Detector.create({ model: modelPath('yolo11n.onnx'), backend: 'cpu' });
    });
    afterAll(async () => detector?.dispose());

    it.skipIf(!HAS_CV2)(
      "stream() detections equal detections on cv2's frames; vidStride keeps every n-th",
      async () => {
        const file = clips['mp4']!;
        const dump = path.join(dir, 'mp4.det.raw');
        const { stdout } = await run('/usr/bin/python3', ['-c', CV2_DUMP, file, dump]);
        const info = JSON.parse(stdout) as { frames: number; width: number; height: number };
        const ref = await readFile(dump);
        const size = info.width * info.height * 3;
        const results = [];
        for await (const r of detector.stream(file, { vidStride: 3 })) results.push(r);
        expect(results.map((r) => r.frame)).toEqual([0, 3, 6, 9]);
        expect(results.map((r) => r.timestamp)).toEqual([0, 0.3, 0.6, 0.9].map((t) => expect.closeTo(t, 9)));
        expect(results.every((r) => r.path === file)).toBe(true);
        for (const r of results) {
          const frame = ref.subarray(r.frame! * size, (r.frame! + 1) * size);
          const expected = await detector.detect({
            data: frame,
            width: info.width,
            height: info.height,
            format: 'bgr',
          });
          expect(r.detections).toEqual(expected.detections);
        }
        expect(results.some((r) => r.detections.length > 0)).toBe(true);
      },
    );

    it('reads an HTTP stream served locally, like the file', async () => {
      const file = clips['ts']!;
      const size = (await stat(file)).size;
      const server = createServer((req, res) => {
        res.writeHead(200, { 'content-type': 'video/mp2t', 'content-length': size });
        createReadStream(file).pipe(res);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      try {
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/live.ts`;
        const fromHttp = [];
        for await (const r of detector.stream(url, { vidStride: 5 })) fromHttp.push(r);
        const fromFile = [];
        for await (const r of detector.stream(file, { vidStride: 5 })) fromFile.push(r);
        expect(fromHttp.map((r) => r.frame)).toEqual([0, 5]);
        expect(fromHttp.map((r) => r.detections)).toEqual(fromFile.map((r) => r.detections));
        expect(fromHttp[0]!.path).toBe(url);
      } finally {
        server.close();
      }
    });
  });

  it('reports a stalled stream (ERR_SOURCE, stalled) instead of hanging', async () => {
    const bytes = await readFile(clips['ts']!);
    const held: import('node:http').ServerResponse[] = [];
    const server: Server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp2t' });
      res.write(bytes.subarray(0, Math.floor(bytes.length / 2))); // then nothing more, connection open
      held.push(res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/live.ts`;
    const seen: number[] = [];
    const started = Date.now();
    try {
      await expect(
        (async () => {
          for await (const f of readFrames(
            { source: url, kind: 'stream' },
            { stallTimeoutS: 1, openTimeoutS: 5 },
          ))
            seen.push(f.index);
        })(),
      ).rejects.toMatchObject({ code: 'ERR_SOURCE', details: { reason: 'stalled' } });
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      for (const res of held) res.destroy();
      server.close();
    }
  });

  it('reports an unreadable file with ERR_SOURCE and a missing ffmpeg with ERR_FFMPEG_NOT_FOUND', async () => {
    const bad = path.join(dir, 'not-a-video.mp4');
    execFileSync('sh', ['-c', `echo nonsense > ${bad}`]);
    await expect(ourFrames(bad)).rejects.toMatchObject({ code: 'ERR_SOURCE' });
    await expect(ourFrames(clips['mp4']!, { ffmpegPath: '/nonexistent/ffmpeg' })).rejects.toMatchObject({
      code: 'ERR_FFMPEG_NOT_FOUND',
    });
  });

  it('stops ffmpeg when the consumer stops early or aborts', async () => {
    const ac = new AbortController();
    const frames: number[] = [];
    await expect(
      (async () => {
        for await (const f of readFrames({ source: clips['mp4']!, kind: 'file' }, { signal: ac.signal })) {
          frames.push(f.index);
          if (f.index === 2) ac.abort();
        }
      })(),
    ).rejects.toMatchObject({ code: 'ABORT_ERR' });
    expect(frames).toEqual([0, 1, 2]);
    for await (const f of readFrames({ source: clips['mp4']!, kind: 'file' })) if (f.index === 1) break;
  });
});
