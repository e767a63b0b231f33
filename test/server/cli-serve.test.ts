// `yolo-trt serve` as a black box: a child process on a free port, probed over HTTP, stopped with
// SIGTERM while a request is running (graceful: the request completes, the process exits 0).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bearer, kserveClient } from './grpc-client.js';
import { imagePath, modelPath } from './helpers.js';

const BIN = path.resolve('bin/yolo-trt.js');

function start(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { env: { ...process.env, ...env } });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, exited, out: () => ({ stderr, stdout }) };
}

async function origin(child: ChildProcessWithoutNullStreams, out: () => { stderr: string }): Promise<string> {
  for (let i = 0; i < 600; i++) {
    const m = / on (http:\/\/127\.0\.0\.1:\d+)/.exec(out().stderr);
    if (m) return m[1]!;
    if (child.exitCode !== null) throw new Error(`serve exited early: ${out().stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`serve did not start: ${out().stderr}`);
}

describe('yolo-trt serve', () => {
  it('refuses to start with nothing to serve (exit 2)', async () => {
    const { exited, out } = start([]);
    const [code] = await exited;
    expect(code).toBe(2);
    expect(out().stderr).toMatch(/nothing to serve/);
  });

  it('refuses a malformed --model (exit 2)', async () => {
    const { exited, out } = start(['--model', '=no-name']);
    expect((await exited)[0]).toBe(2);
    expect(out().stderr).toMatch(/NAME=PATH/);
  });

  it('serves, requires the token from the environment, and shuts down gracefully on SIGTERM', async () => {
    const { child, exited, out } = start(
      // A bare path is served under its file stem; gRPC and the metrics port on free ports.
      [
        '--model',
        modelPath(),
        '--port',
        '0',
        '--grpc-port',
        '0',
        '--metrics-port',
        '0',
        '--log-level',
        'warn',
      ],
      {
        YOLO_TRT_TOKEN: 'cli-secret',
      },
    );
    try {
      const base = await origin(child, out);
      const auth = { authorization: 'Bearer cli-secret' };
      expect((await fetch(`${base}/v2/health/ready`)).status).toBe(200);
      expect((await fetch(`${base}/v2/models/yolo11n`)).status).toBe(401);
      const meta = (await (await fetch(`${base}/v2/models/yolo11n`, { headers: auth })).json()) as {
        versions: string[];
      };
      expect(meta.versions).toEqual(['1']);
      const grpcPort = Number(/, gRPC on 127\.0\.0\.1:(\d+)/.exec(out().stderr)![1]);
      const client = kserveClient(grpcPort);
      try {
        expect(await client.call('ServerLive', {})).toEqual({ live: true });
        const metadata = await client.call('ModelMetadata', { name: 'yolo11n' }, bearer('cli-secret'));
        expect(metadata).toMatchObject({ name: 'yolo11n', versions: ['1'] });
      } finally {
        client.close();
      }
      const metricsUrl = /, metrics on (http:\/\/\S+\/metrics)/.exec(out().stderr)![1]!;
      expect(await (await fetch(metricsUrl)).text()).toMatch(/nv_inference_count/);

      // A slow request (several images) is running when SIGTERM arrives: it must still complete.
      const bus = readFileSync(imagePath('bus.jpg'));
      const form = new FormData();
      for (let i = 0; i < 6; i++)
        form.append(`f${i}`, new Blob([bus], { type: 'image/jpeg' }), `bus${i}.jpg`);
      const running = fetch(`${base}/v2/models/yolo11n/detect`, {
        method: 'POST',
        body: form,
        headers: auth,
      });
      await new Promise((r) => setTimeout(r, 150));
      child.kill('SIGTERM');
      const res = await running;
      expect(res.status).toBe(200);
      expect(((await res.json()) as unknown[]).length).toBe(6);
      const [code, signal] = await exited;
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      await expect(fetch(`${base}/v2/health/live`)).rejects.toThrow();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
