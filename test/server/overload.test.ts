// Overload shedding: a full queue refuses requests on arrival, before their body is read; the refusals
// are counted in the metrics and logged as a rate-limited summary (not one line per 503).
import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorBody, fakeServer, listen, sleep } from './helpers.js';

let app: FastifyInstance;
let base: string;
let port: number;
const logLines: { level: number; time: number; msg: string; rejected?: number; model?: string }[] = [];

beforeAll(async () => {
  ({ app } = await fakeServer(
    {
      defaults: { batching: { maxQueueSize: 2, maxInflightBatches: 1, maxBatchSize: 1, timeoutMs: 20_000 } },
      logger: {
        level: 'warn',
        stream: { write: (line: string) => void logLines.push(JSON.parse(line) as never) },
      },
    },
    // Held requests take long enough that the queue stays full while a test probes it, however slow
    // the machine.
    { delayMs: 3000 },
  ));
  base = await listen(app);
  port = Number(new URL(base).port);
});
afterAll(async () => {
  await app.close();
});

const detect = () =>
  fetch(`${base}/v2/models/fake/detect`, {
    method: 'POST',
    body: Buffer.from('\x01x'),
    headers: { 'content-type': 'image/png' },
  });

/** Sends only the headers of a large POST and resolves with the first answer's status line and time. */
function headersOnly(path: string, type: string): Promise<{ text: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (d) => {
      text += d.toString('latin1');
      if (text.includes('\r\n\r\n') && /content-length: (\d+)/i.test(text)) {
        const len = Number(/content-length: (\d+)/i.exec(text)![1]);
        if (text.length - text.indexOf('\r\n\r\n') - 4 >= len) {
          socket.destroy();
          resolve({ text });
        }
      }
    });
    socket.on('error', reject);
    socket.write(
      `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: ${type}\r\ncontent-length: 10000000\r\n\r\n`,
    );
  });
}

/** Fills the model: one running, two queued. Resolves once they are in. */
async function fill(): Promise<Promise<Response>[]> {
  const held = [detect(), detect(), detect()];
  for (let i = 0; i < 200 && !app.yolo.registry.peek('fake').queueFull; i++) await sleep(5);
  expect(app.yolo.registry.peek('fake').queueFull).toBe(true);
  return held;
}

describe('overload', () => {
  it('a full queue answers 503 on arrival, without waiting for the body', async () => {
    const held = await fill();
    for (const [path, type] of [
      ['/v2/models/fake/detect', 'image/jpeg'],
      ['/v2/models/fake/versions/1/detect', 'multipart/form-data; boundary=x'],
      ['/v2/models/fake/infer', 'application/json'],
    ] as const) {
      // The body is never sent: a server that read it before deciding would not answer at all (until
      // its request timeout, 60 s, past the test's own timeout).
      const { text } = await headersOnly(path, type);
      expect(text).toMatch(/^HTTP\/1\.1 503 /);
      expect(text).toMatch(/retry-after: \d+/i);
      expect(errorBody(text.slice(text.indexOf('\r\n\r\n') + 4)).code).toBe('ERR_QUEUE_FULL');
    }
    for (const r of await Promise.all(held)) expect(r.status).toBe(200);
  });

  it('refusals are counted and logged at most once per second per model, with the count', async () => {
    await sleep(1100); // past the previous test's summary line
    logLines.length = 0;
    const before = await (await fetch(`${base}/metrics`)).text();
    const rejectedBefore = Number(/reason="REJECTED"\} (\d+)/.exec(before)?.[1] ?? 0);
    const started = performance.now();
    const held = await fill();
    const burst = await Promise.all(Array.from({ length: 60 }, () => detect()));
    const refused = burst.filter((r) => r.status === 503).length;
    expect(refused).toBeGreaterThanOrEqual(50); // one may slip in when a held request finishes
    await Promise.all(held);
    await sleep(1200); // the trailing summary
    const lines = logLines.filter((l) => /queue full/.test(l.msg));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    // At most one line per second since the burst began, plus the trailing summary.
    expect(lines.length).toBeLessThanOrEqual(Math.ceil((performance.now() - started) / 1000) + 1);
    for (let i = 1; i < lines.length; i++) {
      expect(lines[i]!.time - lines[i - 1]!.time).toBeGreaterThanOrEqual(990);
    }
    expect(lines.every((l) => l.level === 40 && l.model === 'fake')).toBe(true);
    expect(lines.reduce((a, l) => a + (l.rejected ?? 0), 0)).toBe(refused);
    // Nothing else was logged for them: no line per 503, no error level.
    expect(logLines.filter((l) => l.level >= 50)).toEqual([]);
    expect(logLines.length).toBe(lines.length);
    const after = await (await fetch(`${base}/metrics`)).text();
    const rejectedAfter = Number(/reason="REJECTED"\} (\d+)/.exec(after)?.[1] ?? 0);
    expect(rejectedAfter - rejectedBefore).toBe(refused);
  });
});
