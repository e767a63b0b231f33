/**
 * The overload table of scripts/bench/http.mjs: what a `yolo-trt serve` process (default queue, 64
 * requests) does when offered more than it can serve.
 *
 * - capacity: closed loop at concurrency 8 (the reference goodput, and the server CPU per answered
 *   request);
 * - open loop at 2x, 4x and 8x that capacity: requests fired on a fixed schedule whatever the answers,
 *   each on its own keep-alive socket when the others are busy (the agent has no socket limit), so the
 *   server, not the client, bounds what is in flight; the client's in-flight peak is reported;
 * - closed loop at concurrency 64, 128 and 256: each client sends its next request as soon as the
 *   previous one is answered, 503s included (a client retrying at once, the worst case for shedding).
 *
 * Per row: goodput (200s per second), 503s, other failures, p99 latency of the accepted requests, the
 * server's CPU time per 503, and the lines the server logged (at --log-level warn). The server's CPU is
 * read from /proc/PID/stat (Linux) for the measured window; its cost per 503 is estimated as
 *   (CPU in the row - 200s in the row x CPU per 200 at concurrency 8) / 503s in the row,
 * so it carries the noise of both terms: read it as an order of magnitude.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Fastify from 'fastify';
import { createServer } from '../../dist/index.js';
import { percentile, startServe } from './common.mjs';

const TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) the process has used, or NaN off Linux. */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS; // utime, stime (fields 14, 15)
  } catch {
    return NaN;
  }
}

async function startServer(model) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'yolo-trt-overload-'));
  const config = path.join(dir, 'serve.json');
  await writeFile(config, JSON.stringify({}));
  const { child, origin, output } = await startServe(model, config);
  return { child, origin, output, dir };
}

/** One detect request; resolves with its status and latency (ms), status 0 on a network error. */
function send(agent, url, image) {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'image/jpeg', 'content-length': image.length } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - t0 }));
        res.on('error', () => resolve({ status: 0, ms: performance.now() - t0 }));
      },
    );
    req.on('error', () => resolve({ status: 0, ms: performance.now() - t0 }));
    req.end(image);
  });
}

/** Counts answers that arrive inside [from, to]. */
function tally() {
  return { ok: [], rejected: 0, failed: 0, inflight: 0, peak: 0 };
}
function record(t, r, at, from, to) {
  if (at < from || at > to) return;
  if (r.status === 200) t.ok.push(r.ms);
  else if (r.status === 503) t.rejected++;
  else t.failed++;
}

async function closedLoop(url, image, concurrency, warmupMs, durationMs) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const t = tally();
  const start = performance.now();
  const from = start + warmupMs;
  const to = from + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < to) {
        t.inflight++;
        t.peak = Math.max(t.peak, t.inflight);
        const r = await send(agent, url, image);
        t.inflight--;
        record(t, r, performance.now(), from, to);
      }
    }),
  );
  agent.destroy();
  return { t, from, to };
}

async function openLoop(url, image, rate, warmupMs, durationMs) {
  // No socket limit: a request never waits for a socket, so the offered rate is the sent rate.
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const t = tally();
  const start = performance.now();
  const from = start + warmupMs;
  const to = from + durationMs;
  const pending = new Set();
  let sent = 0;
  await new Promise((resolve) => {
    const tick = setInterval(() => {
      const now = performance.now();
      if (now >= to) {
        clearInterval(tick);
        resolve();
        return;
      }
      const due = Math.floor(((now - start) / 1000) * rate) - sent;
      for (let i = 0; i < due; i++) {
        sent++;
        t.inflight++;
        t.peak = Math.max(t.peak, t.inflight);
        const p = send(agent, url, image).then((r) => {
          t.inflight--;
          record(t, r, performance.now(), from, to);
          pending.delete(p);
        });
        pending.add(p);
      }
    }, 2);
  });
  await Promise.all(pending); // answers after the window are not counted, but are waited for
  agent.destroy();
  return { t, from, to, sent };
}

/**
 * Runs the overload rows against a fresh server. `progress(line)` gets one line per row.
 * Returns { rows, capacity } for the JSON.
 */
export async function runOverload({ model, image, warmupMs, durationMs, progress }) {
  const server = await startServer(model);
  // The clients run in this process at the lowest CPU priority: on one machine they then take what the
  // server leaves, as clients on other machines would, instead of competing with inference for the
  // cores. An open loop that falls behind shows it in the offered req/s column. (The server was started
  // before, at the normal priority; on Linux this lowers the calling thread, the one the clients run on.)
  const priorityBefore = os.getPriority();
  try {
    os.setPriority(19);
  } catch {
    // not permitted here: the clients compete at the normal priority
  }
  const url = `${server.origin}/v2/models/m/detect`;
  const pid = server.child.pid;
  const rows = [];
  const measure = async (label, run) => {
    const linesBefore = server.output.lines;
    // CPU over the measured window only: sample at its start and end.
    let cpuFrom = NaN;
    let cpuTo = NaN;
    const startedAt = performance.now();
    const sampler = setTimeout(() => (cpuFrom = cpuSeconds(pid)), warmupMs);
    const endSampler = setTimeout(() => (cpuTo = cpuSeconds(pid)), warmupMs + durationMs);
    const r = await run();
    clearTimeout(sampler);
    clearTimeout(endSampler);
    if (Number.isNaN(cpuTo)) cpuTo = cpuSeconds(pid);
    const seconds = durationMs / 1000;
    const sorted = [...r.t.ok].sort((a, b) => a - b);
    const row = {
      load: label,
      offeredRps: r.sent === undefined ? null : r.sent / ((r.to - startedAt) / 1000),
      goodput: r.t.ok.length / seconds,
      accepted: r.t.ok.length,
      rejected503: r.t.rejected,
      failed: r.t.failed,
      p99AcceptedMs: percentile(sorted, 99),
      clientInflightPeak: r.t.peak,
      serverCpuS: cpuTo - cpuFrom,
      logLines: server.output.lines - linesBefore,
    };
    rows.push(row);
    progress(
      `  overload ${label}: goodput ${row.goodput.toFixed(1)}/s, 503 ${row.rejected503}, p99 ${row.p99AcceptedMs.toFixed(0)} ms, in-flight peak ${row.clientInflightPeak}, log lines ${row.logLines}`,
    );
    return row;
  };
  try {
    // Warm the model before the reference row.
    await closedLoop(url, image, 2, 0, 1000);
    const base = await measure('closed c=8', () => closedLoop(url, image, 8, warmupMs, durationMs));
    const cpuPerOk = base.serverCpuS / Math.max(1, base.accepted);
    for (const k of [2, 4, 8]) {
      await measure(`open ${k}x`, () => openLoop(url, image, k * base.goodput, warmupMs, durationMs));
      await new Promise((r) => setTimeout(r, 2000)); // let the queue drain between rows
    }
    for (const c of [64, 128, 256]) {
      await measure(`closed c=${c}`, () => closedLoop(url, image, c, warmupMs, durationMs));
      await new Promise((r) => setTimeout(r, 2000));
    }
    for (const row of rows) {
      row.goodputVsC8 = row.goodput / base.goodput;
      row.serverCpuPer503Us =
        row.rejected503 > 0 ? ((row.serverCpuS - row.accepted * cpuPerOk) / row.rejected503) * 1e6 : null;
    }
    return { rows, capacity: base.goodput, cpuPerAcceptedMs: cpuPerOk * 1000 };
  } finally {
    try {
      os.setPriority(priorityBefore);
    } catch {
      // raising the priority back may need privileges: the rest of the bench then runs niced
    }
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('exit', r));
    await rm(server.dir, { recursive: true, force: true });
  }
}

/** The table, as printed and pasted into docs/serving.md. */
export function overloadTable(result) {
  const f = (x, d = 1) => (x === null || !Number.isFinite(x) ? '-' : x.toFixed(d));
  const header = [
    'load',
    'offered req/s',
    'goodput req/s',
    'vs c=8',
    '503s',
    'other failures',
    'p99 accepted ms',
    'client in-flight peak',
    'server CPU per 503 us',
    'log lines',
  ];
  const body = result.rows.map((r) => [
    r.load,
    f(r.offeredRps),
    f(r.goodput),
    `${f(r.goodputVsC8 * 100, 0)}%`,
    String(r.rejected503),
    String(r.failed),
    f(r.p99AcceptedMs, 0),
    String(r.clientInflightPeak),
    f(r.serverCpuPer503Us, 0),
    String(r.logLines),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

/**
 * The server's CPU per 503, measured alone: an in-process server whose model never finishes (one
 * request runs, the queue of 1 is full, every other request is refused), and a closed-loop client at
 * `concurrency` in a child process, so this process's CPU time is the server's only. Each request
 * carries `image` as its body, as in the table (the server reads and discards it to keep the
 * connection). Also counts the server's log lines at level warn.
 */
export async function measure503Cost({ model, image, seconds, concurrency, expectContinue = false }) {
  let release;
  const stuck = new Promise((r) => (release = r));
  let calls = 0;
  const detector = {
    model: { path: model, names: ['a'], imgsz: [640, 640], inputName: 'images', outputName: 'output0' },
    backend: 'cpu',
    maxBatch: 1,
    concurrency: 1,
    // The load's warm-up run answers; every run after it waits until the end.
    detectBatchSettled: async (inputs) => {
      if (calls++ > 0) await stuck;
      const speed = { preprocess: 0, inference: 0, postprocess: 0 };
      return inputs.map(() => ({ ok: true, result: { detections: [], width: 1, height: 1, speed } }));
    },
    detectTensor: async () => [],
    dispose: async () => {},
  };
  let logLines = 0;
  const app = await createServer({
    models: [{ name: 'm', path: model }],
    processMetrics: false,
    demoPage: false,
    detectorFactory: async () => detector,
    defaults: { batching: { maxQueueSize: 1, maxInflightBatches: 1, maxBatchSize: 1, timeoutMs: 0 } },
    logger: { level: 'warn', stream: { write: () => void logLines++ } },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { counts, cpuUs } = await loadFromChild(
    `http://127.0.0.1:${app.server.address().port}/v2/models/m/detect`,
    image.length,
    seconds,
    concurrency,
    expectContinue,
  );
  release();
  await app.close();
  const rejected = counts['503'] ?? 0;
  return {
    concurrency,
    seconds,
    bodyBytes: image.length,
    expectContinue,
    rejected,
    other: Object.entries(counts).filter(([k]) => k !== '503'),
    serverCpuPer503Us: cpuUs / Math.max(1, rejected),
    rejectedPerSecond: rejected / seconds,
    logLines,
  };
}

/**
 * The same load against a bare Fastify route that answers 503 at once (no hooks, no logger): the floor
 * of what an HTTP answer costs on this machine at this moment, to read measure503Cost's number against.
 */
export async function measureBare503({ image, seconds, concurrency }) {
  const app = Fastify({ logger: false });
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.post('/x', async (_req, reply) => reply.code(503).type('application/json').send('{"error":"full"}'));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { counts, cpuUs } = await loadFromChild(
    `http://127.0.0.1:${app.server.address().port}/x`,
    image.length,
    seconds,
    concurrency,
  );
  await app.close();
  const n = counts['503'] ?? 0;
  return { rejected: n, serverCpuPer503Us: cpuUs / Math.max(1, n), rejectedPerSecond: n / seconds };
}

/**
 * A closed-loop client in a child process (so this process's CPU is the server's alone): `concurrency`
 * keep-alive loops POSTing `bodyBytes` bytes for `seconds`. With `expectContinue`, each request sends
 * `Expect: 100-continue` and its body only after a 100 (as curl does for large uploads). Returns the
 * status counts and this process's CPU time (us) meanwhile.
 */
async function loadFromChild(url, bodyBytes, seconds, concurrency, expectContinue = false) {
  const client = `
    import http from 'node:http';
    const body = Buffer.alloc(${bodyBytes}, 1);
    const agent = new http.Agent({ keepAlive: true, maxSockets: ${concurrency} });
    const counts = {};
    const end = Date.now() + ${Math.round(seconds * 1000)};
    const expect = ${expectContinue};
    const headers = { 'content-type': 'image/jpeg', 'content-length': body.length, ...(expect ? { expect: '100-continue' } : {}) };
    const one = () => new Promise((resolve) => {
      let done = false;
      const settle = (key) => { if (done) return; done = true; counts[key] = (counts[key] ?? 0) + 1; resolve(); };
      const req = http.request(${JSON.stringify(url)}, { method: 'POST', agent, headers }, (res) => {
        res.resume();
        res.on('end', () => { settle(res.statusCode); if (expect && !req.writableEnded) req.destroy(); });
      });
      req.on('error', () => settle('error'));
      if (expect) req.on('continue', () => req.end(body));
      else req.end(body);
    });
    // A request the server admits may never be answered (a stuck model): stop at the deadline.
    setTimeout(() => { console.log(JSON.stringify(counts)); process.exit(0); }, end - Date.now());
    for (let i = 0; i < ${concurrency}; i++) void (async () => { while (Date.now() < end) await one(); })();`;
  const cpu0 = process.cpuUsage();
  const child = spawn(process.execPath, ['--input-type=module', '-e', client], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await new Promise((r) => child.once('exit', r));
  const cpu = process.cpuUsage(cpu0);
  return { counts: JSON.parse(out), cpuUs: cpu.user + cpu.system };
}
