/**
 * Queue-full rejections, logged as a summary: at most one warn line per model per interval, with how
 * many requests were refused since the last line. Under overload a line per 503 would cost more than
 * the 503 itself and flood the log (one line per rejected request is what a load balancer retrying in
 * a tight loop turns into gigabytes).
 */

export interface WarnLog {
  warn(obj: object, msg: string): void;
}

interface ModelCount {
  /** Rejections not yet logged. */
  count: number;
  /** When the last line for this model was written (ms, performance.now()). */
  loggedAt: number;
  timer: NodeJS.Timeout | undefined;
}

export class OverloadLog {
  readonly #log: WarnLog | undefined;
  readonly #intervalMs: number;
  readonly #models = new Map<string, ModelCount>();

  constructor(log: WarnLog | undefined, intervalMs = 1000) {
    this.#log = log;
    this.#intervalMs = intervalMs;
  }

  /** One request to `model` refused because its queue is full. */
  queueFull(model: string): void {
    if (this.#log === undefined) return;
    let m = this.#models.get(model);
    if (m === undefined) {
      m = { count: 0, loggedAt: -Infinity, timer: undefined };
      this.#models.set(model, m);
    }
    m.count++;
    if (m.timer !== undefined) return;
    const wait = m.loggedAt + this.#intervalMs - performance.now();
    if (wait <= 0) this.#flush(model, m);
    else {
      m.timer = setTimeout(() => this.#flush(model, m), wait);
      m.timer.unref();
    }
  }

  /** Writes what is pending now (shutdown) and stops the timers. */
  close(): void {
    for (const [model, m] of this.#models) if (m.count > 0) this.#flush(model, m);
  }

  #flush(model: string, m: ModelCount): void {
    if (m.timer !== undefined) clearTimeout(m.timer);
    m.timer = undefined;
    if (m.count === 0) return;
    const rejected = m.count;
    m.count = 0;
    m.loggedAt = performance.now();
    this.#log?.warn(
      { model, rejected, code: 'ERR_QUEUE_FULL' },
      `queue full: ${rejected} request(s) to model '${model}' answered 503 since the last report`,
    );
  }
}
