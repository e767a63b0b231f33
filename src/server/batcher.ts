import { HttpError } from './http-errors.js';

/**
 * A dynamic batcher in the spirit of Triton's: requests queue per model and are run together.
 *
 * - A batch is as large as what is queued, up to `maxBatchSize` images, without waiting when that much
 *   is there; otherwise it waits at most `maxQueueDelayMs` (from the oldest request's arrival) to fill.
 * - Only requests with the same `key` (same kind of input, same thresholds) share a batch; their order
 *   is preserved.
 * - At most `maxInflightBatches` batches run at once; the rest waits in a queue of at most
 *   `maxQueueSize` requests. A full queue rejects at once (503 + Retry-After) instead of growing.
 * - Each request has a timeout (from arrival to result) and an optional AbortSignal (its client went
 *   away): either removes it from the queue, or, once running, answers it early and discards its result.
 *   A batch whose every request is gone is aborted.
 *
 * It knows nothing of HTTP or models: `run` does the work, so it is tested with a fake.
 */

export type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

export interface BatcherOptions<I, R> {
  /** Images per batch (a request larger than this runs alone). */
  maxBatchSize: number;
  /** Batches running at once. */
  maxInflightBatches: number;
  /** How long the oldest queued request may wait for a batch to fill; 0 = never wait. */
  maxQueueDelayMs: number;
  /** Requests waiting (not running) at most. */
  maxQueueSize: number;
  /** Per-request limit from arrival to result, ms; 0 = none. */
  timeoutMs: number;
  /** Runs one batch; returns one settled result per item, in order. A throw fails the whole batch. */
  run(items: I[], signal: AbortSignal): Promise<Settled<R>[]>;
  /** Clock in ms (injectable for tests). */
  now?(): number;
}

export interface SubmitOptions {
  /** Images in this request (default 1). */
  size?: number;
  /** Requests with different keys never share a batch. */
  key?: string;
  signal?: AbortSignal;
}

export interface BatchOutcome<R> {
  value: R;
  /** Time spent queued, ms. */
  queueMs: number;
  /** Images in the batch this request ran in. */
  batchImages: number;
}

interface Entry<I, R> {
  item: I;
  size: number;
  key: string;
  arrivedAt: number;
  /** Set once the request is answered (result, error, timeout, abort). */
  done: boolean;
  running: boolean;
  resolve(outcome: BatchOutcome<R>): void;
  reject(error: unknown): void;
  timer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  batch: RunningBatch | undefined;
}

interface RunningBatch {
  controller: AbortController;
  live: number;
}

export interface BatcherSnapshot {
  queued: number;
  running: number;
  runningBatches: number;
}

export class DynamicBatcher<I, R> {
  readonly #o: Required<BatcherOptions<I, R>>;
  readonly #queue: Entry<I, R>[] = [];
  #runningBatches = 0;
  #runningRequests = 0;
  #delayTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #idleWaiters: (() => void)[] = [];
  /** Smoothed batch run time, ms, for Retry-After estimates. */
  #avgBatchMs = 0;

  constructor(options: BatcherOptions<I, R>) {
    for (const k of ['maxBatchSize', 'maxInflightBatches', 'maxQueueSize'] as const) {
      const v = options[k];
      if (!Number.isInteger(v) || v < 1)
        throw new RangeError(`Expected a positive integer for ${k}, got ${v}`);
    }
    for (const k of ['maxQueueDelayMs', 'timeoutMs'] as const) {
      const v = options[k];
      if (!Number.isFinite(v) || v < 0) throw new RangeError(`Expected a number >= 0 for ${k}, got ${v}`);
    }
    this.#o = { ...options, now: options.now ?? (() => performance.now()) };
  }

  snapshot(): BatcherSnapshot {
    return {
      queued: this.#queue.length,
      running: this.#runningRequests,
      runningBatches: this.#runningBatches,
    };
  }

  /** Requests queued or running. */
  get pending(): number {
    return this.#queue.length + this.#runningRequests;
  }

  /** No room for one more request: a submit now would be refused. Cheap enough to ask per request. */
  get full(): boolean {
    return this.#queue.length >= this.#o.maxQueueSize;
  }

  /** What a request refused because the queue is full is told (the same text every time). */
  get queueFullMessage(): string {
    return `the queue is full (${this.#o.maxQueueSize} requests waiting); retry later`;
  }

  /** The 503 a request gets when the queue is full, Retry-After estimated from the batch speed. */
  queueFullError(): HttpError {
    return new HttpError(503, 'ERR_QUEUE_FULL', this.queueFullMessage, {
      retryAfter: this.retryAfterSeconds(),
    });
  }

  submit(item: I, options: SubmitOptions = {}): Promise<BatchOutcome<R>> {
    const { size = 1, key = '', signal } = options;
    if (this.#closed) {
      return Promise.reject(new HttpError(503, 'ERR_SHUTTING_DOWN', 'this model version is shutting down'));
    }
    if (signal?.aborted) return Promise.reject(clientClosed());
    if (this.full) return Promise.reject(this.queueFullError());
    return new Promise<BatchOutcome<R>>((resolve, reject) => {
      const entry: Entry<I, R> = {
        item,
        size: Math.max(1, size),
        key,
        arrivedAt: this.#o.now(),
        done: false,
        running: false,
        resolve,
        reject,
        timer: undefined,
        signal,
        onAbort: undefined,
        batch: undefined,
      };
      if (this.#o.timeoutMs > 0) {
        entry.timer = setTimeout(
          () =>
            this.#cancel(
              entry,
              new HttpError(
                504,
                'ERR_TIMEOUT',
                `the request did not complete within ${this.#o.timeoutMs} ms`,
              ),
            ),
          this.#o.timeoutMs,
        );
      }
      if (signal !== undefined) {
        entry.onAbort = () => this.#cancel(entry, clientClosed());
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.#queue.push(entry);
      this.#pump();
    });
  }

  /** Stops accepting requests; queued and running ones still complete. */
  close(): void {
    this.#closed = true;
    this.#pump();
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Seconds until the queue has room, at the observed batch speed: Retry-After of a 503. */
  retryAfterSeconds(): number {
    // Time to run what is queued, at the observed batch speed; at least one second (HTTP's unit).
    const batches = Math.ceil(this.#queue.length / this.#o.maxBatchSize) / this.#o.maxInflightBatches;
    return Math.max(1, Math.ceil((batches * (this.#avgBatchMs || 100)) / 1000));
  }

  /** Answers a request early (timeout, client gone). A running batch is aborted once all its requests are. */
  #cancel(entry: Entry<I, R>, error: unknown): void {
    if (entry.done) return;
    if (!entry.running) {
      const i = this.#queue.indexOf(entry);
      if (i >= 0) this.#queue.splice(i, 1);
    }
    this.#finish(entry);
    entry.reject(error);
    const batch = entry.batch;
    if (batch !== undefined && --batch.live === 0) batch.controller.abort(new Error('every request left'));
    if (!entry.running) {
      this.#notifyIdle();
      this.#pump();
    }
  }

  #finish(entry: Entry<I, R>): void {
    entry.done = true;
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    if (entry.onAbort !== undefined) entry.signal?.removeEventListener('abort', entry.onAbort);
  }

  #pump(): void {
    if (this.#delayTimer !== undefined) {
      clearTimeout(this.#delayTimer);
      this.#delayTimer = undefined;
    }
    while (this.#runningBatches < this.#o.maxInflightBatches && this.#queue.length > 0) {
      const head = this.#queue[0]!;
      const picked: Entry<I, R>[] = [];
      let images = 0;
      let full = false;
      for (const e of this.#queue) {
        if (e.key !== head.key) continue;
        if (picked.length > 0 && images + e.size > this.#o.maxBatchSize) {
          full = true; // the next one does not fit: waiting cannot make this batch larger
          break;
        }
        picked.push(e);
        images += e.size;
        if (images >= this.#o.maxBatchSize) {
          full = true;
          break;
        }
      }
      const waited = this.#o.now() - head.arrivedAt;
      if (!full && !this.#closed && waited < this.#o.maxQueueDelayMs) {
        this.#delayTimer = setTimeout(() => this.#pump(), Math.max(0, this.#o.maxQueueDelayMs - waited));
        return;
      }
      const pickedSet = new Set(picked);
      for (let i = this.#queue.length - 1; i >= 0; i--) {
        if (pickedSet.has(this.#queue[i]!)) this.#queue.splice(i, 1);
      }
      this.#start(picked, images);
    }
  }

  #start(entries: Entry<I, R>[], images: number): void {
    const batch: RunningBatch = { controller: new AbortController(), live: entries.length };
    const startedAt = this.#o.now();
    this.#runningBatches++;
    this.#runningRequests += entries.length;
    for (const e of entries) {
      e.running = true;
      e.batch = batch;
    }
    let run: Promise<Settled<R>[]>;
    try {
      run = this.#o.run(
        entries.map((e) => e.item),
        batch.controller.signal,
      );
    } catch (err) {
      run = Promise.reject(err);
    }
    run
      .then(
        (results) => {
          entries.forEach((e, i) => {
            const r = results[i];
            if (e.done) return;
            this.#finish(e);
            if (r === undefined)
              e.reject(new Error(`batch returned ${results.length} results for ${entries.length}`));
            else if (r.ok)
              e.resolve({ value: r.value, queueMs: startedAt - e.arrivedAt, batchImages: images });
            else e.reject(r.error);
          });
        },
        (err: unknown) => {
          for (const e of entries) {
            if (e.done) continue;
            this.#finish(e);
            e.reject(err);
          }
        },
      )
      .finally(() => {
        const ms = this.#o.now() - startedAt;
        this.#avgBatchMs = this.#avgBatchMs === 0 ? ms : this.#avgBatchMs * 0.8 + ms * 0.2;
        this.#runningBatches--;
        this.#runningRequests -= entries.length;
        this.#notifyIdle();
        this.#pump();
      });
  }

  #notifyIdle(): void {
    if (this.pending !== 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}

function clientClosed(): HttpError {
  return new HttpError(499, 'ERR_CLIENT_CLOSED', 'the client closed the connection');
}
