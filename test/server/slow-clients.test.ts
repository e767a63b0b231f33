// Slow and greedy clients are cut off (loopback, short timeouts): headers or a body that trickle in,
// idle keep-alive connections, too many requests on one connection, too many connections.
import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../dist/server/app.js';
import { createServer } from '../../dist/index.js';
import { errorBody, fakeServer, listen, modelPath, sleep } from './helpers.js';

let app: FastifyInstance;
let port: number;

const LIMITS = {
  headersTimeoutMs: 400,
  requestTimeoutMs: 800,
  keepAliveTimeoutMs: 300,
  idleTimeoutMs: 5_000,
  maxRequestsPerSocket: 3,
  maxConnections: 6,
};

beforeAll(async () => {
  ({ app } = await fakeServer({ limits: LIMITS }));
  port = Number(new URL(await listen(app)).port);
});
afterAll(async () => {
  await app.close();
});

interface Conn {
  socket: net.Socket;
  /** Everything the server sent so far. */
  text(): string;
  /** Resolves with ms since connect when the server closes the connection. */
  closed: Promise<number>;
}

async function connect(): Promise<Conn> {
  const socket = net.connect(port, '127.0.0.1');
  const start = performance.now();
  const chunks: Buffer[] = [];
  socket.on('data', (c) => chunks.push(c));
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) =>
    socket.once('close', () => resolve(performance.now() - start)),
  );
  await new Promise((r) => socket.once('connect', r));
  return { socket, text: () => Buffer.concat(chunks).toString('latin1'), closed };
}

/** Writes `text` one byte every `everyMs` until the socket closes; never finishes on its own. */
async function trickle(c: Conn, text: string, everyMs: number): Promise<void> {
  for (const ch of text) {
    if (c.socket.destroyed) return;
    c.socket.write(ch);
    await sleep(everyMs);
  }
}

describe('timeouts', () => {
  it('the defaults are safe and documented values', () => {
    expect(DEFAULT_LIMITS).toMatchObject({
      requestTimeoutMs: 60_000,
      headersTimeoutMs: 10_000,
      keepAliveTimeoutMs: 5_000,
      idleTimeoutMs: 120_000,
      maxRequestsPerSocket: 0,
      maxConnections: 1024,
    });
  });

  it('slow headers: 408 with our body, then the connection is closed', async () => {
    const clients = await Promise.all(Array.from({ length: 3 }, () => connect()));
    for (const c of clients)
      void trickle(c, `GET /v2/health/live HTTP/1.1\r\nhost: x\r\nx-slow: ${'a'.repeat(200)}`, 50);
    const times = await Promise.all(clients.map((c) => c.closed));
    for (const [i, c] of clients.entries()) {
      expect(times[i]).toBeLessThan(LIMITS.headersTimeoutMs + 1500);
      expect(c.text()).toMatch(/^HTTP\/1\.1 408 /);
      expect(errorBody(c.text().slice(c.text().indexOf('\r\n\r\n') + 4)).code).toBe('ERR_REQUEST_TIMEOUT');
    }
  });

  it('a connection that sends nothing is closed after the headers timeout', async () => {
    const c = await connect();
    expect(await c.closed).toBeLessThan(LIMITS.headersTimeoutMs + 1500);
  });

  it('slow body: cut off after the request timeout, wherever the body is going', async () => {
    const routes = [
      ['/v2/models/fake/detect', 'image/jpeg'],
      ['/v2/models/fake/infer', 'application/json'],
      ['/v2/repository/index', 'application/json'],
    ];
    const clients = await Promise.all(routes.map(() => connect()));
    routes.forEach(([route, type], i) => {
      const c = clients[i]!;
      c.socket.write(
        `POST ${route} HTTP/1.1\r\nhost: x\r\ncontent-type: ${type}\r\ncontent-length: 100000\r\n\r\n`,
      );
      void trickle(c, 'x'.repeat(100_000), 50);
    });
    const times = await Promise.all(clients.map((c) => c.closed));
    for (const t of times) expect(t).toBeLessThan(LIMITS.requestTimeoutMs + 1500);
    for (const c of clients) expect(c.text()).toMatch(/^(HTTP\/1\.1 408 |$)/);
  });

  it('idle keep-alive connections are closed after keepAliveTimeoutMs', async () => {
    const c = await connect();
    c.socket.write('GET /v2/health/live HTTP/1.1\r\nhost: x\r\n\r\n');
    const t = await c.closed;
    expect(c.text()).toMatch(/^HTTP\/1\.1 200 /);
    // Node closes an idle keep-alive socket up to a second after keepAliveTimeout (its safety margin).
    expect(t).toBeLessThan(LIMITS.keepAliveTimeoutMs + 2500);
  });

  it('maxRequestsPerSocket: the last allowed answer says Connection: close', async () => {
    const c = await connect();
    const req = 'GET /v2/health/live HTTP/1.1\r\nhost: x\r\n\r\n';
    c.socket.write(req.repeat(4));
    await c.closed;
    const answers = c.text().split(/(?=HTTP\/1\.1 )/);
    expect(answers.filter((a) => a.startsWith('HTTP/1.1 200'))).toHaveLength(3);
    expect(answers[2]).toMatch(/connection: close/i);
  });

  it('maxConnections: connections past the limit are closed at once; the others keep working', async () => {
    const held = await Promise.all(Array.from({ length: LIMITS.maxConnections }, () => connect()));
    await sleep(50);
    const extra = await connect();
    expect(await extra.closed).toBeLessThan(1000);
    expect(extra.text()).toBe('');
    const first = held[0]!;
    first.socket.write('GET /v2/health/live HTTP/1.1\r\nhost: x\r\n\r\n');
    await sleep(100);
    expect(first.text()).toMatch(/^HTTP\/1\.1 200 /);
    for (const h of held) h.socket.destroy();
  });
});

describe('limit validation', () => {
  it.each([
    [{ headersTimeoutMs: 0 }, /headersTimeoutMs/],
    [{ headersTimeoutMs: 5000, requestTimeoutMs: 1000 }, /headersTimeoutMs/],
    [{ maxConnections: 0 }, /maxConnections/],
    [{ idleTimeoutMs: -1 }, /idleTimeoutMs/],
    [{ keepAliveTimeoutMs: 1.5 }, /keepAliveTimeoutMs/],
  ])('%o is refused', async (limits, message) => {
    await expect(
      createServer({ models: [{ name: 'x', path: modelPath() }], processMetrics: false, limits }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', message: expect.stringMatching(message) });
  });
});
