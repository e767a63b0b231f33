/**
 * Per model version statistics in the shape of Triton's `GET /v2/models/{m}/stats`, so tools that read
 * Triton's statistics read ours. Durations are kept in nanoseconds like Triton's.
 */

export interface DurationStat {
  count: number;
  ns: number;
}

export interface TritonModelStats {
  name: string;
  version: string;
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: {
    success: DurationStat;
    fail: DurationStat;
    queue: DurationStat;
    compute_input: DurationStat;
    compute_infer: DurationStat;
    compute_output: DurationStat;
    cache_hit: DurationStat;
    cache_miss: DurationStat;
  };
  batch_stats: {
    batch_size: number;
    compute_input: DurationStat;
    compute_infer: DurationStat;
    compute_output: DurationStat;
  }[];
}

/** Stage times of one request or one batch, ms. */
export interface StageMs {
  preprocess: number;
  inference: number;
  postprocess: number;
}

const zero = (): DurationStat => ({ count: 0, ns: 0 });
const add = (s: DurationStat, ms: number): void => {
  s.count++;
  s.ns += Math.round(ms * 1e6);
};

export class ModelStats {
  readonly #stats: TritonModelStats;
  readonly #batches = new Map<number, TritonModelStats['batch_stats'][number]>();

  constructor(name: string, version: string) {
    this.#stats = {
      name,
      version,
      last_inference: 0,
      inference_count: 0,
      execution_count: 0,
      inference_stats: {
        success: zero(),
        fail: zero(),
        queue: zero(),
        compute_input: zero(),
        compute_infer: zero(),
        compute_output: zero(),
        cache_hit: zero(),
        cache_miss: zero(),
      },
      batch_stats: [],
    };
  }

  success(requestMs: number, queueMs: number, images: number, stages: StageMs): void {
    const s = this.#stats;
    s.last_inference = Date.now();
    s.inference_count += images;
    add(s.inference_stats.success, requestMs);
    add(s.inference_stats.queue, queueMs);
    add(s.inference_stats.compute_input, stages.preprocess);
    add(s.inference_stats.compute_infer, stages.inference);
    add(s.inference_stats.compute_output, stages.postprocess);
  }

  failure(requestMs: number): void {
    add(this.#stats.inference_stats.fail, requestMs);
  }

  batch(images: number, stages: StageMs): void {
    this.#stats.execution_count++;
    let b = this.#batches.get(images);
    if (b === undefined) {
      b = { batch_size: images, compute_input: zero(), compute_infer: zero(), compute_output: zero() };
      this.#batches.set(images, b);
    }
    add(b.compute_input, stages.preprocess);
    add(b.compute_infer, stages.inference);
    add(b.compute_output, stages.postprocess);
  }

  toJSON(): TritonModelStats {
    return {
      ...structuredClone(this.#stats),
      batch_stats: [...this.#batches.values()]
        .sort((a, b) => a.batch_size - b.batch_size)
        .map((b) => structuredClone(b)),
    };
  }
}
