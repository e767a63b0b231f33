// Source classification, the ffmpeg command lines for streams and webcams (no camera or RTSP server
// here: the invocation is what can be checked), and bounded http(s) downloads against a local server.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Detector } from '../../dist/index.js';
import { ffmpegArgs, findFfmpeg, parseOutputStream } from '../../dist/sources/ffmpeg.js';
import { sourceKind } from '../../dist/sources/kind.js';
import { fetchBytes } from '../../dist/sources/url.js';
import { imagePath, modelPath } from '../helpers/assets.js';

// Real inference, ffmpeg and python3-opencv on a shared 2-core machine: allow time.
vi.setConfig({ testTimeout: 120000, hookTimeout: 120000 });

describe('source kinds and ffmpeg invocation', () => {
  it('classifies sources by form', () => {
    expect(sourceKind('https://x.org/bus.jpg')).toBe('image-url');
    expect(sourceKind('http://x.org/a/video.mp4?sig=1')).toBe('stream');
    expect(sourceKind('https://cdn.x.org/live/index.m3u8')).toBe('stream');
    expect(sourceKind('rtsp://cam.local:554/stream1')).toBe('stream');
    expect(sourceKind('rtmp://x/live/key')).toBe('stream');
    expect(sourceKind('0')).toBe('webcam');
    expect(sourceKind('/dev/video2')).toBe('webcam');
    expect(sourceKind('photos/*.jpg')).toBe('glob');
    expect(sourceKind('clips/a.MKV')).toBe('video');
    expect(sourceKind('photos/')).toBe('path');
  });

  it('reads RTSP over TCP, webcams through the platform input device, every frame as bgr24', () => {
    const tail = [
      '-map',
      '0:v:0',
      '-an',
      '-sn',
      '-dn',
      '-vsync',
      '0',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'bgr24',
      'pipe:1',
    ];
    expect(ffmpegArgs({ source: 'rtsp://cam/s1', kind: 'stream' })).toEqual([
      '-hide_banner',
      '-nostdin',
      '-loglevel',
      'info',
      '-rtsp_transport',
      'tcp',
      '-i',
      'rtsp://cam/s1',
      ...tail,
    ]);
    expect(ffmpegArgs({ source: 'rtmp://x/live', kind: 'stream' }).slice(4, 6)).toEqual([
      '-i',
      'rtmp://x/live',
    ]);
    expect(ffmpegArgs({ source: '0', kind: 'webcam', platform: 'linux' }).slice(4, 8)).toEqual([
      '-f',
      'v4l2',
      '-i',
      '/dev/video0',
    ]);
    expect(ffmpegArgs({ source: '/dev/video3', kind: 'webcam', platform: 'linux' }).slice(4, 8)).toEqual([
      '-f',
      'v4l2',
      '-i',
      '/dev/video3',
    ]);
    expect(ffmpegArgs({ source: '0', kind: 'webcam', platform: 'darwin' }).slice(4, 8)).toEqual([
      '-f',
      'avfoundation',
      '-i',
      '0',
    ]);
    expect(ffmpegArgs({ source: 'USB Camera', kind: 'webcam', platform: 'win32' }).slice(4, 8)).toEqual([
      '-f',
      'dshow',
      '-i',
      'video=USB Camera',
    ]);
  });

  it("parses the output stream's size and rate from ffmpeg's log", () => {
    const log =
      "Input #0, mov,mp4\n  Stream #0:0(und): Video: h264 (High), yuv420p, 1920x1080, 25 fps\nOutput #0, rawvideo, to 'pipe:1':\n" +
      '  Stream #0:0(und): Video: rawvideo (BGR[24] / 0x18524742), bgr24(progressive), 1080x1920, q=2-31, 1244160 kb/s, 29.97 fps, 29.97 tbn\n';
    expect(parseOutputStream(log)).toEqual({ width: 1080, height: 1920, fps: 29.97 });
    expect(parseOutputStream('Input #0 ...\n')).toBeNull();
  });

  it('finds no ffmpeg on an empty PATH and says how to get one', () => {
    expect(() => findFfmpeg({ PATH: '' })).toThrow(expect.objectContaining({ code: 'ERR_FFMPEG_NOT_FOUND' }));
    expect(() => findFfmpeg({ YOLO_TRT_FFMPEG: '/nonexistent/ffmpeg' })).toThrow(/YOLO_TRT_FFMPEG/);
  });
});

describe('http(s) images', () => {
  let server: Server;
  let base: string;
  let bus: Buffer;
  beforeAll(async () => {
    bus = await readFile(imagePath('bus.jpg'));
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const hop = Number(url.searchParams.get('n') ?? 0);
      switch (url.pathname) {
        case '/bus.jpg':
          res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': bus.length });
          res.end(bus);
          return;
        case '/redirect':
          res.writeHead(302, { location: hop > 0 ? `/redirect?n=${hop - 1}` : '/bus.jpg' });
          res.end();
          return;
        case '/to-file':
          res.writeHead(302, { location: 'file:///etc/passwd' });
          res.end();
          return;
        case '/chunked':
          res.writeHead(200, { 'content-type': 'image/jpeg' });
          res.write(Buffer.alloc(60_000));
          res.end(Buffer.alloc(60_000));
          return;
        case '/slow':
          res.writeHead(200, { 'content-type': 'image/jpeg' });
          res.write(Buffer.alloc(10)); // and never finishes
          return;
        default:
          res.writeHead(404);
          res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('downloads, following a bounded number of redirects', async () => {
    expect((await fetchBytes(`${base}/bus.jpg`)).equals(bus)).toBe(true);
    expect((await fetchBytes(`${base}/redirect?n=4`)).equals(bus)).toBe(true); // 5 redirects: allowed
    await expect(fetchBytes(`${base}/redirect?n=5`)).rejects.toMatchObject({
      code: 'ERR_SOURCE',
      details: { reason: 'redirects' },
    });
    await expect(fetchBytes(`${base}/to-file`)).rejects.toMatchObject({ details: { reason: 'url' } });
  });

  it('refuses bodies over the size limit (declared or streamed), slow answers and HTTP errors', async () => {
    await expect(fetchBytes(`${base}/bus.jpg`, { maxBytes: 1000 })).rejects.toMatchObject({
      details: { reason: 'too-large' },
    });
    await expect(fetchBytes(`${base}/chunked`, { maxBytes: 100_000 })).rejects.toMatchObject({
      details: { reason: 'too-large' },
    });
    await expect(fetchBytes(`${base}/slow`, { timeoutMs: 300 })).rejects.toMatchObject({
      details: { reason: 'timeout' },
    });
    await expect(fetchBytes(`${base}/missing.jpg`)).rejects.toMatchObject({ details: { reason: 'status' } });
  });

  it('stream() detects on a URL image like on the file', async () => {
    const detector = await Detector.create({ model: modelPath('yolo11n.onnx'), backend: 'cpu' });
    try {
      const results = [];
      for await (const r of detector.stream(`${base}/bus.jpg`)) results.push(r);
      expect(results).toHaveLength(1);
      expect(results[0]!.path).toBe(`${base}/bus.jpg`);
      const direct = await detector.detect(imagePath('bus.jpg'));
      expect(results[0]!.detections).toEqual(direct.detections);
    } finally {
      await detector.dispose();
    }
  });
});
