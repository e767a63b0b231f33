// Malformed bodies and framework-level errors on every route that takes a body: always a 4xx with our
// {error, code} JSON, never a 5xx, and the server keeps serving. Also Content-Encoding of request
// bodies (gzip/deflate honoured within the body limit, others 415).
import net from 'node:net';
import zlib from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorBody, fakeServer, listen, makeRepository, removeDir } from './helpers.js';

let app: FastifyInstance;
let base: string;
let port: number;
let repo: string;

const BODY_LIMIT = 64 * 1024;

beforeAll(async () => {
  repo = await makeRepository('', { alpha: [1] });
  ({ app } = await fakeServer({
    modelRepository: repo,
    limits: { bodyLimit: BODY_LIMIT, maxImagesPerRequest: 4 },
  }));
  base = await listen(app);
  port = Number(new URL(base).port);
});

afterAll(async () => {
  await app.close();
  await removeDir(repo);
});

interface RawResponse {
  status: number;
  headers: string;
  body: string;
}

/** Sends exact bytes on a fresh connection and reads the answer until the server closes it. */
function raw(request: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (m === null) return reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      resolve({ status: Number(m[1]), headers: text.slice(0, split), body: text.slice(split + 4) });
    });
    // Not end(): a half-closed connection is a client that left (Node aborts its request).
    socket.write(request);
  });
}

/** A POST with Connection: close and an exact body. */
function rawPost(path: string, headers: Record<string, string>, body: string | Buffer): Promise<RawResponse> {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
  const head = Object.entries({ 'content-length': String(bytes.length), ...headers })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return raw(
    Buffer.concat([
      Buffer.from(`POST ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n${head}\r\n`, 'latin1'),
      bytes,
    ]),
  );
}

function expectCoded(res: RawResponse, status: number, code?: string): string {
  expect({ status: res.status, body: res.body }).toMatchObject({ status });
  expect(res.headers).toMatch(/content-type: application\/json/i);
  const body = errorBody(res.body);
  if (code !== undefined) expect(body.code).toBe(code);
  expect(body.code).toMatch(/^ERR_/);
  return body.error;
}

const MP = 'multipart/form-data; boundary=XyZ';
const filePart = (name: string, bytes: string) =>
  `--XyZ\r\nContent-Disposition: form-data; name="${name}"; filename="${name}.jpg"\r\n` +
  `Content-Type: image/jpeg\r\n\r\n${bytes}\r\n`;

describe('malformed multipart bodies are 400s', () => {
  const cases: [string, string, string][] = [
    ['truncated inside a file (no closing boundary)', MP, filePart('a', '\x05abc').slice(0, -2)],
    ['part headers cut off', MP, '--XyZ\r\nContent-Disposition: form-data; name="a"; filena'],
    ['garbage after the boundary line', MP, '--XyZ\r\n\x00\x01\x02garbage without headers'],
    ['a part header with no colon', MP, '--XyZ\r\nnot a header\r\n\r\nxx\r\n--XyZ--\r\n'],
    ['no boundary in Content-Type', 'multipart/form-data', filePart('a', '\x05abc') + '--XyZ--\r\n'],
    ['empty boundary', 'multipart/form-data; boundary=', '--\r\n\r\n'],
    ['body that is not multipart at all', MP, '{"json": "instead"}'],
    ['a second part cut off early', MP, filePart('a', '\x05abc') + filePart('b', '\x06de').slice(0, 40)],
  ];
  it.each(cases)('%s', async (_name, type, body) => {
    for (const path of ['/v2/models/fake/detect', '/v2/models/fake/versions/1/detect']) {
      const res = await rawPost(path, { 'content-type': type }, body);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expectCoded(res, res.status);
    }
  });

  it('a well-formed multipart body still works', async () => {
    const res = await rawPost(
      '/v2/models/fake/detect',
      { 'content-type': MP },
      filePart('a', '\x05abc') + '--XyZ--\r\n',
    );
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toHaveLength(1);
  });
});

describe('framework errors have our shape', () => {
  const longName = 'm'.repeat(300);
  it.each([
    ['GET', `/v2/models/${longName}`],
    ['GET', `/v2/models/${longName}/ready`],
    ['POST', `/v2/models/${longName}/detect`],
    ['POST', `/v2/models/${longName}/infer`],
    ['POST', `/v2/models/fake/versions/${'9'.repeat(300)}/infer`],
    ['POST', `/v2/repository/models/${longName}/load`],
    ['POST', `/v2/repository/models/${longName}/unload`],
  ])('%s %s with a 300-character parameter -> 414 without echoing the URL', async (method, path) => {
    const res = await fetch(base + path, { method, body: method === 'POST' ? '{}' : undefined });
    const text = await res.text();
    expect(res.status).toBe(414);
    expect(errorBody(text).code).toBe('ERR_URI_TOO_LONG');
    expect(text).not.toContain('mmmmmmmmmm');
    expect(text).not.toContain('statusCode');
  });

  it('a malformed percent-encoding in a path parameter -> 400', async () => {
    const res = await raw('GET /v2/models/%E0%A4%A/ready HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    expect(res.status).toBeLessThan(500);
    expectCoded(res, res.status);
  });

  it('headers over the size limit -> a clean 431 with our body', async () => {
    const res = await raw(`GET /v2/health/live HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expectCoded(res, 431, 'ERR_HEADERS_TOO_LARGE');
  });

  it('a request that is not HTTP -> 400 with our body', async () => {
    const res = await raw('HELLO THERE\r\n\r\n');
    expectCoded(res, 400, 'ERR_BAD_REQUEST');
  });

  it('a Content-Length larger than the body limit -> 413 before the body', async () => {
    const res = await raw(
      `POST /v2/models/fake/infer HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${BODY_LIMIT * 10}\r\n\r\n{`,
    );
    expectCoded(res, 413, 'ERR_BODY_TOO_LARGE');
  });
});

describe('malformed bodies on every route that takes one', () => {
  const routes = [
    '/v2/models/fake/infer',
    '/v2/models/fake/versions/1/infer',
    '/v2/repository/index',
    '/v2/repository/models/alpha/load',
    '/v2/repository/models/alpha/unload',
  ];
  const bodies: [string, Record<string, string>, string | Buffer][] = [
    ['truncated JSON', { 'content-type': 'application/json' }, '{"inputs": ['],
    ['JSON that is a string', { 'content-type': 'application/json' }, '"hello"'],
    ['JSON with __proto__', { 'content-type': 'application/json' }, '{"__proto__": {"x": 1}}'],
    [
      'JSON with constructor.prototype',
      { 'content-type': 'application/json' },
      '{"constructor": {"prototype": {}}}',
    ],
    [
      'invalid UTF-8 in JSON',
      { 'content-type': 'application/json' },
      Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    ],
    ['deeply nested JSON', { 'content-type': 'application/json' }, '['.repeat(5000) + ']'.repeat(5000)],
    ['JSON with a bad charset', { 'content-type': 'application/json; charset=utf-16' }, '{}'],
    ['unknown content type', { 'content-type': 'text/xml' }, '<a/>'],
    ['gzip that is not gzip', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, '{}'],
    ['an unknown Content-Encoding', { 'content-type': 'application/json', 'content-encoding': 'br' }, '{}'],
  ];
  for (const route of routes) {
    it.each(bodies)(`${route}: %s`, async (_name, headers, body) => {
      const res = await rawPost(route, headers, body);
      // A schema-valid body may be accepted by the repository routes; anything else is a coded 4xx.
      if (res.status < 300) return;
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expectCoded(res, res.status);
    });
  }

  it('a body shorter than its Content-Length (client gave up) never leaves a 5xx in the metrics', async () => {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write(
      'POST /v2/models/fake/detect HTTP/1.1\r\nhost: x\r\ncontent-type: image/jpeg\r\ncontent-length: 100\r\n\r\nabc',
    );
    await new Promise((r) => setTimeout(r, 50));
    socket.destroy();
    await new Promise((r) => setTimeout(r, 50));
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).not.toMatch(/status_code="5\d\d"/);
  });

  it('the server is healthy afterwards and nothing was answered 5xx', async () => {
    expect((await fetch(`${base}/v2/health/ready`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).not.toMatch(/status_code="5\d\d"/);
  });
});

describe('Content-Encoding of request bodies', () => {
  const inferBody = JSON.stringify({
    inputs: [
      { name: 'images', datatype: 'BYTES', shape: [1], data: [Buffer.from('\x07hi').toString('base64')] },
    ],
  });

  it.each([
    ['gzip', zlib.gzipSync],
    ['x-gzip', zlib.gzipSync],
    ['deflate', zlib.deflateSync],
    ['GZIP', zlib.gzipSync],
  ] as const)('infer with Content-Encoding: %s is decompressed', async (coding, compress) => {
    const res = await rawPost(
      '/v2/models/fake/infer',
      { 'content-type': 'application/json', 'content-encoding': coding },
      compress(Buffer.from(inferBody)),
    );
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body).outputs).toBeDefined();
  });

  it('detect with a gzip image body is decompressed', async () => {
    const res = await rawPost(
      '/v2/models/fake/detect',
      { 'content-type': 'image/jpeg', 'content-encoding': 'gzip' },
      zlib.gzipSync(Buffer.from('\x09abcdef')),
    );
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body).width).toBe(7);
  });

  it('identity is a plain body', async () => {
    const res = await rawPost(
      '/v2/models/fake/infer',
      { 'content-type': 'application/json', 'content-encoding': 'identity' },
      inferBody,
    );
    expect(res.status).toBe(200);
  });

  it('a zip bomb stops at the body limit with 413', async () => {
    // 64 MiB of zeros compress to ~64 KiB... keep the compressed body under the limit: 8 MiB -> ~8 KiB.
    const bomb = zlib.gzipSync(Buffer.alloc(8 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(BODY_LIMIT);
    for (const route of ['/v2/models/fake/infer', '/v2/models/fake/detect', '/v2/repository/index']) {
      const type = route.endsWith('detect') ? 'image/png' : 'application/json';
      const res = await rawPost(route, { 'content-type': type, 'content-encoding': 'gzip' }, bomb);
      expectCoded(res, 413, 'ERR_BODY_TOO_LARGE');
    }
  });

  it('other codings, stacked codings and compressed multipart are 415', async () => {
    for (const coding of ['br', 'zstd', 'compress', 'gzip, gzip', 'gzip, br']) {
      const res = await rawPost(
        '/v2/models/fake/infer',
        { 'content-type': 'application/json', 'content-encoding': coding },
        '{}',
      );
      expectCoded(res, 415, 'ERR_UNSUPPORTED_ENCODING');
    }
    const res = await rawPost(
      '/v2/models/fake/detect',
      { 'content-type': MP, 'content-encoding': 'gzip' },
      zlib.gzipSync(filePart('a', '\x05abc') + '--XyZ--\r\n'),
    );
    expectCoded(res, 415, 'ERR_UNSUPPORTED_ENCODING');
  });

  it('a truncated gzip body is a 400', async () => {
    const res = await rawPost(
      '/v2/models/fake/infer',
      { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      zlib.gzipSync(Buffer.from(inferBody)).subarray(0, 20),
    );
    expectCoded(res, 400, 'ERR_BAD_REQUEST');
  });
});
