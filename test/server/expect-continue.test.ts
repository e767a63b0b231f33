// Expect: 100-continue: the interim 100 is sent only to a request that passed admission (token, model,
// queue, body limit), so a refused client never uploads its body, and an answer sent without the 100
// closes the connection (the client may or may not send the body after it).
import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeServer, listen, sleep } from './helpers.js';

let app: FastifyInstance;
let port: number;
const TOKEN = 'secret-token';
const auth = `authorization: Bearer ${TOKEN}\r\n`;

beforeAll(async () => {
  ({ app } = await fakeServer(
    {
      token: TOKEN,
      limits: { bodyLimit: 1_000_000 },
      defaults: { batching: { maxQueueSize: 1, maxInflightBatches: 1, maxBatchSize: 1, timeoutMs: 20_000 } },
    },
    { delayMs: 1500 },
  ));
  port = Number(new URL(await listen(app)).port);
});
afterAll(async () => {
  await app.close();
});

interface Exchange {
  /** Everything the server sent, in order. */
  text: string;
  /** Whether the server closed the connection. */
  closed: boolean;
  /** Whether the client had to send the body (a 100 came). */
  sentBody: boolean;
}

/**
 * A client that honours Expect: 100-continue: headers first, the body only after a 100. Resolves when a
 * final answer is complete and either the server closed or `waitCloseMs` passed.
 */
function exchange(path: string, headers: string, body: Buffer, waitCloseMs = 500): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const out: Exchange = { text: '', closed: false, sentBody: false };
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      socket.destroy();
      resolve(out);
    };
    socket.on('data', (d) => {
      out.text += d.toString('latin1');
      if (!out.sentBody && out.text.startsWith('HTTP/1.1 100 ')) {
        out.sentBody = true;
        socket.write(body);
      }
      const final = out.text.replace(/^HTTP\/1\.1 100 [^\r]*\r\n\r\n/, '');
      const m = /content-length: (\d+)/i.exec(final);
      const headEnd = final.indexOf('\r\n\r\n');
      if (m && headEnd >= 0 && final.length - headEnd - 4 >= Number(m[1])) {
        setTimeout(finish, waitCloseMs);
      }
    });
    socket.on('end', () => {
      out.closed = true;
      finish();
    });
    socket.on('error', reject);
    socket.write(
      `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: image/png\r\ncontent-length: ${body.length}\r\n` +
        `expect: 100-continue\r\n${headers}\r\n`,
    );
  });
}

const statusOf = (text: string) => /HTTP\/1\.1 (\d{3}) [^\r]*\r\n(?![\s\S]*HTTP\/1\.1 )/.exec(text)?.[1];

describe('Expect: 100-continue', () => {
  it('an admitted request gets the 100, sends its body and is answered on a kept-alive connection', async () => {
    const r = await exchange('/v2/models/fake/detect', auth, Buffer.from('\x80image'));
    expect(r.text.startsWith('HTTP/1.1 100 Continue\r\n\r\n')).toBe(true);
    expect(r.sentBody).toBe(true);
    expect(statusOf(r.text)).toBe('200');
    expect(r.closed).toBe(false);
  });

  it('a request without the token is refused before its body: 401, no 100, connection closed', async () => {
    const r = await exchange('/v2/models/fake/detect', '', Buffer.alloc(100_000, 1));
    expect(r.text).toMatch(/^HTTP\/1\.1 401 /);
    expect(r.sentBody).toBe(false);
    expect(r.text).toMatch(/connection: close/i);
    expect(r.closed).toBe(true);
  });

  it('a body over the limit is refused by its Content-Length: 413, no 100', async () => {
    const r = await exchange('/v2/models/fake/detect', auth, Buffer.alloc(1_000_001, 1));
    expect(r.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(r.sentBody).toBe(false);
    expect(r.closed).toBe(true);
  });

  it('an unknown model is refused before its body (Triton answers 400), no 100', async () => {
    const r = await exchange('/v2/models/nope/infer', auth, Buffer.alloc(1000, 1));
    expect(r.text).toMatch(/^HTTP\/1\.1 400 /);
    expect(r.text).toMatch(/"code":"ERR_MODEL_NOT_FOUND"/);
    expect(r.sentBody).toBe(false);
    expect(r.closed).toBe(true);
  });

  it('a full queue answers 503 with Retry-After before the body is sent', async () => {
    const detect = () =>
      fetch(`http://127.0.0.1:${port}/v2/models/fake/detect`, {
        method: 'POST',
        body: Buffer.from('\x80x'),
        headers: { 'content-type': 'image/png', authorization: `Bearer ${TOKEN}` },
      });
    const held = [detect(), detect()];
    for (let i = 0; i < 200 && !app.yolo.registry.peek('fake').queueFull; i++) await sleep(5);
    expect(app.yolo.registry.peek('fake').queueFull).toBe(true);
    const r = await exchange('/v2/models/fake/detect', auth, Buffer.alloc(137_000, 1));
    expect(r.text).toMatch(/^HTTP\/1\.1 503 /);
    expect(r.text).toMatch(/retry-after: \d+/i);
    expect(r.text).toMatch(/"code":"ERR_QUEUE_FULL"/);
    expect(r.sentBody).toBe(false);
    expect(r.closed).toBe(true);
    for (const res of await Promise.all(held)) expect(res.status).toBe(200);
  });
});
