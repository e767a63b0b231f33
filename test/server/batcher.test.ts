// The dynamic batcher on its own: a fake `run`, fake timers, no HTTP and no model.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DynamicBatcher, type BatcherOptions, type Settled } from '../../dist/server/batcher.js';

interface Call {
  items: string[];
  signal: AbortSignal;
  finish(results?: Settled<string>[]): void;
  fail(err: unknown): void;
}

/** A batcher whose batches finish only when the test says so. */
function harness(o: Partial<BatcherOptions<string, string>> = {}) {
  const calls: Call[] = [];
  const batcher = new DynamicBatcher<string, string>({
    maxBatchSize: 4,
    maxInflightBatches: 1,
    maxQueueDelayMs: 50,
    maxQueueSize: 8,
    timeoutMs: 0,
    now: () => Date.now(),
    run: (items, signal) =>
      new Promise((resolve, reject) => {
        calls.push({
          items,
          signal,
          finish: (results) => resolve(results ?? items.map((i) => ({ ok: true, value: `done:${i}` }))),
          fail: reject,
        });
      }),
    ...o,
  });
  return { batcher, calls };
}

/** Lets promise callbacks run without moving the fake clock. */
const flush = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('DynamicBatcher', () => {
  it('runs a full batch at once, without waiting for the queue delay', async () => {
    const { batcher, calls } = harness();
    const results = ['a', 'b', 'c', 'd'].map((x) => batcher.submit(x));
    await flush();
    expect(calls.map((c) => c.items)).toEqual([['a', 'b', 'c', 'd']]);
    calls[0]!.finish();
    const outcomes = await Promise.all(results);
    expect(outcomes.map((o) => o.value)).toEqual(['done:a', 'done:b', 'done:c', 'done:d']);
    expect(outcomes.every((o) => o.batchImages === 4 && o.queueMs === 0)).toBe(true);
  });

  it('waits at most maxQueueDelayMs to fill a batch, then runs what it has', async () => {
    const { batcher, calls } = harness();
    const p = [batcher.submit('a')];
    await vi.advanceTimersByTimeAsync(20);
    p.push(batcher.submit('b'));
    await vi.advanceTimersByTimeAsync(29);
    expect(calls).toHaveLength(0); // 49 ms after the first arrival: still waiting
    await vi.advanceTimersByTimeAsync(1);
    expect(calls.map((c) => c.items)).toEqual([['a', 'b']]);
    calls[0]!.finish();
    const [a, b] = await Promise.all(p);
    expect(a!.queueMs).toBe(50);
    expect(b!.queueMs).toBe(30);
  });

  it('with no queue delay runs a lone request immediately', async () => {
    const { batcher, calls } = harness({ maxQueueDelayMs: 0 });
    const p = batcher.submit('a');
    await flush();
    expect(calls.map((c) => c.items)).toEqual([['a']]);
    calls[0]!.finish();
    expect((await p).value).toBe('done:a');
  });

  it('batches what queued up while the runner was busy, as soon as it frees up', async () => {
    const { batcher, calls } = harness({ maxQueueDelayMs: 0 });
    const p = [batcher.submit('a')];
    await flush();
    for (const x of ['b', 'c', 'd', 'e', 'f']) p.push(batcher.submit(x));
    await flush();
    expect(calls).toHaveLength(1); // one batch in flight at most
    expect(batcher.snapshot()).toEqual({ queued: 5, running: 1, runningBatches: 1 });
    calls[0]!.finish();
    await flush();
    expect(calls[1]!.items).toEqual(['b', 'c', 'd', 'e']);
    calls[1]!.finish();
    await flush();
    expect(calls[2]!.items).toEqual(['f']);
    calls[2]!.finish();
    expect((await Promise.all(p)).map((o) => o.value)).toEqual(
      ['a', 'b', 'c', 'd', 'e', 'f'].map((x) => `done:${x}`),
    );
  });

  it('keeps a bounded queue: a full queue rejects at once with 503 and Retry-After', async () => {
    const { batcher, calls } = harness({ maxQueueDelayMs: 0, maxQueueSize: 3 });
    const accepted = ['a', 'b', 'c', 'd'].map((x) => batcher.submit(x)); // a runs, b c d queue
    await flush();
    const rejected = await batcher.submit('e').then(
      () => null,
      (e: unknown) => e,
    );
    expect(rejected).toMatchObject({ statusCode: 503, code: 'ERR_QUEUE_FULL' });
    expect((rejected as { retryAfter: number }).retryAfter).toBeGreaterThanOrEqual(1);
    expect(batcher.snapshot().queued).toBe(3);
    calls[0]!.finish();
    await flush();
    calls[1]!.finish();
    await Promise.all(accepted);
    expect(calls.flatMap((c) => c.items)).not.toContain('e');
  });

  it('times out a request that waited too long and never runs it', async () => {
    const { batcher, calls } = harness({ maxQueueDelayMs: 0, timeoutMs: 100 });
    const a = batcher.submit('a').catch((e: unknown) => e);
    const b = batcher.submit('b').catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(100);
    expect(await b).toMatchObject({ statusCode: 504, code: 'ERR_TIMEOUT' });
    // `a` was running: it is answered with the timeout too, and its batch (now empty of listeners) aborted.
    expect(await a).toMatchObject({ code: 'ERR_TIMEOUT' });
    expect(calls[0]!.signal.aborted).toBe(true);
    calls[0]!.finish();
    await flush();
    expect(calls.flatMap((c) => c.items)).toEqual(['a']);
    await batcher.idle();
  });

  it('drops the queued work of a client that went away', async () => {
    const { batcher, calls } = harness({ maxQueueDelayMs: 0 });
    const a = batcher.submit('a');
    await flush();
    const gone = new AbortController();
    const b = batcher.submit('b', { signal: gone.signal });
    const c = batcher.submit('c');
    gone.abort();
    await expect(b).rejects.toMatchObject({ statusCode: 499, code: 'ERR_CLIENT_CLOSED' });
    calls[0]!.finish();
    await flush();
    expect(calls[1]!.items).toEqual(['c']);
    calls[1]!.finish();
    await Promise.all([a, c]);
  });

  it('aborts a running batch only when every request in it has gone', async () => {
    const { batcher, calls } = harness({ maxQueueDelayMs: 10, maxBatchSize: 2 });
    const one = new AbortController();
    const two = new AbortController();
    const p1 = batcher.submit('a', { signal: one.signal }).catch((e: unknown) => e);
    const p2 = batcher.submit('b', { signal: two.signal }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10);
    expect(calls[0]!.items).toEqual(['a', 'b']);
    one.abort();
    await flush();
    expect(calls[0]!.signal.aborted).toBe(false);
    two.abort();
    expect(calls[0]!.signal.aborted).toBe(true);
    expect(await p1).toMatchObject({ code: 'ERR_CLIENT_CLOSED' });
    expect(await p2).toMatchObject({ code: 'ERR_CLIENT_CLOSED' });
    calls[0]!.fail(new Error('aborted'));
    await batcher.idle();
  });

  it('never mixes keys in a batch and keeps arrival order within a key', async () => {
    const { batcher, calls } = harness({ maxQueueDelayMs: 0 });
    const first = batcher.submit('x0', { key: 'x' });
    await flush();
    const p = [
      batcher.submit('x1', { key: 'x' }),
      batcher.submit('y1', { key: 'y' }),
      batcher.submit('x2', { key: 'x' }),
      batcher.submit('y2', { key: 'y' }),
    ];
    calls[0]!.finish();
    await flush();
    expect(calls[1]!.items).toEqual(['x1', 'x2']);
    calls[1]!.finish();
    await flush();
    expect(calls[2]!.items).toEqual(['y1', 'y2']);
    calls[2]!.finish();
    await Promise.all([first, ...p]);
  });

  it('counts images, not requests, toward the batch size; an oversized request runs alone', async () => {
    const { batcher, calls } = harness({ maxQueueDelayMs: 0 });
    const hold = batcher.submit('hold');
    await flush();
    const p = [
      batcher.submit('three', { size: 3 }),
      batcher.submit('two', { size: 2 }),
      batcher.submit('nine', { size: 9 }),
    ];
    calls[0]!.finish();
    await flush();
    expect(calls[1]!.items).toEqual(['three']); // 3 + 2 > 4
    calls[1]!.finish();
    await flush();
    expect(calls[2]!.items).toEqual(['two']); // 2 + 9 > 4
    calls[2]!.finish();
    await flush();
    expect(calls[3]!.items).toEqual(['nine']);
    calls[3]!.finish();
    const outcomes = await Promise.all(p);
    expect(outcomes.map((o) => o.batchImages)).toEqual([3, 2, 9]);
    await hold;
  });

  it('settles requests one by one: one failed image fails only its request; a thrown run fails its batch', async () => {
    const { batcher, calls } = harness({ maxQueueDelayMs: 10 });
    const p = ['a', 'b'].map((x) => batcher.submit(x).catch((e: unknown) => e));
    await vi.advanceTimersByTimeAsync(10);
    calls[0]!.finish([
      { ok: true, value: 'fine' },
      { ok: false, error: new Error('bad image') },
    ]);
    const [a, b] = await Promise.all(p);
    expect(a).toMatchObject({ value: 'fine' });
    expect(b).toBeInstanceOf(Error);
    const c = batcher.submit('c').catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10);
    calls[1]!.fail(new Error('backend down'));
    expect(await c).toMatchObject({ message: 'backend down' });
  });

  it('close() refuses new work, finishes queued work, and idle() resolves after it', async () => {
    const { batcher, calls } = harness({ maxQueueDelayMs: 1000 });
    const a = batcher.submit('a');
    batcher.close();
    await flush();
    expect(calls[0]!.items).toEqual(['a']); // closing does not wait for the delay
    await expect(batcher.submit('late')).rejects.toMatchObject({
      statusCode: 503,
      code: 'ERR_SHUTTING_DOWN',
    });
    let idle = false;
    const idleP = batcher.idle().then(() => (idle = true));
    await flush();
    expect(idle).toBe(false);
    calls[0]!.finish();
    await a;
    await idleP;
    expect(idle).toBe(true);
  });

  it('rejects invalid options', () => {
    expect(() => harness({ maxBatchSize: 0 })).toThrow(/maxBatchSize/);
    expect(() => harness({ maxQueueDelayMs: Number.NaN })).toThrow(/maxQueueDelayMs/);
  });
});
