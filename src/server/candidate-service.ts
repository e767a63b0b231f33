import { Counter, Gauge } from 'prom-client';
import { isYoloTrtError } from '../errors.js';
import {
  AgreementTracker,
  DEFAULT_ROLLBACK,
  rollbackCause,
  type AgreementStats,
  type RollbackThresholds,
} from '../monitoring/agreement.js';
import type { DetectResult } from '../results.js';
import type { CandidateConfig, CandidateMode } from './candidate-config.js';
import { HttpError } from './http-errors.js';
import type { ServerMetrics } from './metrics.js';
import type { InferJob, InferOutcome, ModelInstance } from './model-instance.js';
import type { ActiveCandidate, ModelRegistry } from './model-registry.js';

/**
 * Candidate versions on the request path (the registry knows which version is the candidate and which
 * the primary; src/monitoring/agreement.ts measures agreement). For requests that name no version:
 *
 * - shadow: the primary answers; once it has, a copy of the request runs on the candidate in the
 *   background and the two results are compared. The client never waits for the copy.
 * - canary: a `weight` share of the requests is answered by the candidate; the primary runs the same
 *   input in the background, for the comparison and to tell a candidate failure from a bad input.
 *
 * The share is deterministic (request n goes to the candidate when floor(n w) steps up): exactly w of
 * every 1/w requests, so short tests and low traffic see the configured share. Background runs are
 * bounded per model (`maxInflight`); past it, and when the target's queue is full, the copy is dropped
 * and counted. After every comparison the rollback rules are checked; a candidate that crosses them is
 * taken out of routing at once.
 */

/** What a route runs a request on: the instance that answers, and its work. */
export interface RoutedInference {
  /** Answers the client (decode the input for its model). */
  readonly inst: ModelInstance;
  infer(job: InferJob, startedAt: number, signal?: AbortSignal): Promise<InferOutcome>;
  release(): void;
}

export interface LastRollback {
  at: string;
  version: string;
  reason: string;
  automatic: boolean;
}

interface ModelState {
  /** The candidate instance measured; a new one (another version, a reload) starts a new window. */
  candidate: ModelInstance;
  config: CandidateConfig;
  tracker: AgreementTracker;
  /** Unversioned requests seen while this candidate routes (the split's counter). */
  seen: number;
  inflight: number;
  active: boolean;
}

/** What happened to a model's last candidate, kept after its state is gone. */
interface History {
  event: 'promoted' | 'rolled_back';
  lastRollback?: LastRollback;
}

export interface CandidateReport {
  model: string;
  primary: string | null;
  candidate: { version: string; mode: CandidateMode; weight: number } | null;
  agreement: AgreementStats | null;
  rollback: {
    thresholds: { minF1: number; maxErrorRate: number; maxLatencyRatio: number; minPairs: number };
    decidedAfter: number;
    lastRollback?: LastRollback;
  };
  /** none | collecting (fewer pairs than decidedAfter) | passing | rolled_back | promoted */
  status: 'none' | 'collecting' | 'passing' | 'rolled_back' | 'promoted';
}

interface Log {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** The reason label of yolo_trt_candidate_rollbacks_total: the automatic rules, or manual. */
const ROLLBACK_REASONS = ['error_rate', 'f1', 'latency', 'manual'] as const;
type RollbackLabel = (typeof ROLLBACK_REASONS)[number];

const speedMs = (r: DetectResult): number => r.speed.preprocess + r.speed.inference + r.speed.postprocess;

/** A failure that says nothing about the model: the client left, or the server is stopping. */
function notTheModels(err: unknown): boolean {
  const code = err instanceof HttpError ? err.code : isYoloTrtError(err) ? err.code : undefined;
  return code === 'ABORT_ERR' || code === 'ERR_CLIENT_CLOSED' || code === 'ERR_SHUTTING_DOWN';
}

const isQueueFull = (err: unknown): boolean => err instanceof HttpError && err.code === 'ERR_QUEUE_FULL';

export class CandidateService {
  readonly #registry: ModelRegistry;
  readonly #log: Log | undefined;
  readonly #states = new Map<string, ModelState>();
  readonly #history = new Map<string, History>();
  readonly #background = new Set<Promise<void>>();
  readonly #requests: Counter<'model' | 'version' | 'mode'>;
  readonly #errors: Counter<'model' | 'version'>;
  readonly #dropped: Counter<'model' | 'version'>;
  readonly #rollbacks: Counter<'model' | 'version' | 'reason'>;

  constructor(registry: ModelRegistry, metrics: ServerMetrics, log?: Log) {
    this.#registry = registry;
    this.#log = log;
    const registers = [metrics.registry];
    this.#requests = new Counter({
      name: 'yolo_trt_candidate_requests_total',
      help: 'Requests sent to a candidate version: shadow copies and canary answers',
      labelNames: ['model', 'version', 'mode'],
      registers,
    });
    this.#errors = new Counter({
      name: 'yolo_trt_candidate_errors_total',
      help: 'Candidate failures on inputs the primary answered',
      labelNames: ['model', 'version'],
      registers,
    });
    this.#dropped = new Counter({
      name: 'yolo_trt_candidate_dropped_total',
      help: 'Shadow copies and comparison runs dropped because too many were in flight or the queue was full',
      labelNames: ['model', 'version'],
      registers,
    });
    this.#rollbacks = new Counter({
      name: 'yolo_trt_candidate_rollbacks_total',
      help: 'Candidates taken out of routing: reason f1, error_rate, latency (automatic) or manual',
      labelNames: ['model', 'version', 'reason'],
      registers,
    });
    this.#registerGauges(metrics);
  }

  /**
   * The instance a request runs on, with a lease taken: the named version exactly (never mirrored nor
   * split), else the primary or, for a canary's share, the candidate. Call `release()` when done.
   */
  acquire(name: string, version: string | undefined): RoutedInference {
    if (version !== undefined) return plain(this.#registry.acquire(name, version));
    const active = this.#registry.candidate(name);
    if (active === undefined || !active.candidate.healthy || !active.primary.healthy) {
      return plain(this.#registry.acquire(name));
    }
    const state = this.#stateFor(name, active);
    const n = state.seen++;
    const w = active.config.weight;
    const chosen = Math.floor((n + 1) * w) > Math.floor(n * w);
    if (!chosen) return plain(this.#registry.acquire(name));
    const { primary, candidate } = active;
    const answering = active.config.mode === 'canary' ? candidate : primary;
    answering.acquire();
    return {
      inst: answering,
      release: () => answering.release(),
      infer: async (job, startedAt, signal) => {
        this.#requests.inc(labels(state, active.config.mode));
        if (active.config.mode === 'shadow') {
          const outcome = await primary.infer(job, startedAt, signal);
          this.#compareInBackground(name, state, job, primary, outcome, candidate, 'candidate');
          return outcome;
        }
        let outcome: InferOutcome;
        try {
          outcome = await candidate.infer(job, startedAt, signal);
        } catch (err) {
          // The primary on the same input says whether the failure is the candidate's or the input's.
          if (!notTheModels(err) && !isQueueFull(err)) this.#checkFailure(name, state, job, primary);
          throw err;
        }
        this.#compareInBackground(name, state, job, candidate, outcome, primary, 'primary');
        return outcome;
      },
    };
  }

  /**
   * The GET /v2/models/{name}/candidate answer (the registry's 400 ERR_MODEL_NOT_FOUND for an unknown
   * model; the route answers 404 before asking).
   */
  report(name: string): CandidateReport {
    const routing = this.#registry.routing(name);
    const state = this.#states.get(name);
    const history = this.#history.get(name);
    const configured = routing.candidate;
    const live = state !== undefined && state.active && configured !== undefined ? state : undefined;
    const t: RollbackThresholds = (configured ?? state?.config)?.rollback ?? DEFAULT_ROLLBACK;
    const stats = state?.tracker.stats() ?? null;
    let status: CandidateReport['status'] = 'none';
    if (configured !== undefined) {
      status =
        live === undefined || stats === null || stats.images + stats.candidateErrors < t.minImages
          ? 'collecting'
          : 'passing';
    } else if (history !== undefined) status = history.event;
    return {
      model: name,
      primary: routing.primary ?? null,
      candidate:
        configured === undefined
          ? null
          : { version: configured.version, mode: configured.mode, weight: configured.weight },
      agreement: configured !== undefined && live === undefined ? null : stats,
      rollback: {
        thresholds: {
          minF1: t.minF1,
          maxErrorRate: t.maxErrorRate,
          maxLatencyRatio: t.maxLatencyRatio,
          minPairs: t.minImages,
        },
        decidedAfter: t.minImages,
        ...(history?.lastRollback === undefined ? {} : { lastRollback: history.lastRollback }),
      },
      status,
    };
  }

  /** POST .../promote: the candidate becomes the primary. */
  promote(name: string): { model: string; primary: string; previous: string | null } {
    const { previous, primary } = this.#registry.promote(name);
    const state = this.#states.get(name);
    if (state !== undefined) state.active = false;
    this.#history.set(name, { ...this.#history.get(name), event: 'promoted' });
    this.#log?.info({ model: name, version: primary, previous }, 'candidate promoted to primary');
    return { model: name, primary, previous: previous ?? null };
  }

  /** POST .../rollback: the candidate leaves routing; `reason` is recorded. */
  rollback(
    name: string,
    reason = 'manual rollback',
  ): { model: string; primary: string | null; rolledBack: string; reason: string } {
    const { version, primary } = this.#registry.rollback(name);
    this.#recordRollback(name, version, reason, 'manual');
    return { model: name, primary: primary ?? null, rolledBack: version, reason };
  }

  /** Resolves when every background comparison has finished (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.#background.size > 0) await Promise.all(this.#background);
  }

  #stateFor(name: string, active: ActiveCandidate): ModelState {
    const s = this.#states.get(name);
    if (s !== undefined && s.active && s.candidate === active.candidate && s.config === active.config)
      return s;
    const fresh: ModelState = {
      candidate: active.candidate,
      config: active.config,
      tracker: new AgreementTracker(active.config.window),
      seen: 0,
      inflight: 0,
      active: true,
    };
    this.#states.set(name, fresh);
    // Every counter series of this candidate exists from its first request, at 0: Prometheus'
    // increase() cannot see a series' first sample, so a rollback counter born at 1 would never alert.
    const l = labels(fresh);
    this.#requests.inc(labels(fresh, active.config.mode), 0);
    this.#errors.inc(l, 0);
    this.#dropped.inc(l, 0);
    for (const reason of ROLLBACK_REASONS) this.#rollbacks.inc({ ...l, reason }, 0);
    return fresh;
  }

  /** Starts a background run of `job` on `other`, bounded; false (and counted) when it is dropped. */
  #startBackground(
    state: ModelState,
    other: ModelInstance,
    job: InferJob,
    then: (p: Promise<InferOutcome>) => Promise<void>,
  ): void {
    if (state.inflight >= state.config.maxInflight || other.queueFull || other.retired) {
      this.#dropped.inc(labels(state));
      return;
    }
    state.inflight++;
    other.acquire();
    const run = other.infer({ ...job, mirror: true }, performance.now());
    const done = then(run)
      .catch((err: unknown) =>
        this.#log?.warn({ model: state.candidate.name, err: String(err) }, 'candidate comparison failed'),
      )
      .finally(() => {
        state.inflight--;
        other.release();
        this.#background.delete(done);
      });
    this.#background.add(done);
  }

  /**
   * Runs the same input on `other` (the candidate behind a shadow's primary answer, or the primary
   * behind a canary's candidate answer) and records the pair, primary first.
   */
  #compareInBackground(
    name: string,
    state: ModelState,
    job: InferJob,
    answered: ModelInstance,
    outcome: InferOutcome,
    other: ModelInstance,
    otherRole: 'candidate' | 'primary',
  ): void {
    if (!sameInput(job, answered, other)) {
      this.#dropped.inc(labels(state));
      return;
    }
    this.#startBackground(state, other, job, async (run) => {
      let results: DetectResult[];
      try {
        results = (await run).results;
      } catch (err) {
        if (isQueueFull(err)) this.#dropped.inc(labels(state));
        else if (otherRole === 'candidate' && !notTheModels(err)) this.#candidateError(name, state);
        return;
      }
      if (!state.active) return;
      outcome.results.forEach((mine, i) => {
        const theirs = results[i];
        if (theirs === undefined) return;
        const [p, c] = otherRole === 'candidate' ? [mine, theirs] : [theirs, mine];
        state.tracker.record(p, c, speedMs(p), speedMs(c));
      });
      this.#decide(name, state);
    });
  }

  /** A canary answer failed: if the primary answers the same input, the failure was the candidate's. */
  #checkFailure(name: string, state: ModelState, job: InferJob, primary: ModelInstance): void {
    if (!sameInput(job, state.candidate, primary)) return;
    this.#startBackground(state, primary, job, async (run) => {
      try {
        await run;
      } catch {
        return; // the input fails on the primary too: not the candidate's fault
      }
      this.#candidateError(name, state);
    });
  }

  #candidateError(name: string, state: ModelState): void {
    this.#errors.inc(labels(state));
    if (!state.active) return;
    state.tracker.recordError();
    this.#decide(name, state);
  }

  #decide(name: string, state: ModelState): void {
    const cause = rollbackCause(state.tracker.stats(), state.config.rollback);
    if (cause === null || !state.active) return;
    // Only the candidate this state measures is rolled back (a newer load may have replaced it).
    if (this.#registry.candidate(name)?.candidate !== state.candidate) return;
    const { version } = this.#registry.rollback(name);
    this.#recordRollback(name, version, cause.reason, cause.rule);
  }

  #recordRollback(name: string, version: string, reason: string, label: RollbackLabel): void {
    const automatic = label !== 'manual';
    const state = this.#states.get(name);
    if (state !== undefined) state.active = false;
    const lastRollback: LastRollback = { at: new Date().toISOString(), version, reason, automatic };
    this.#history.set(name, { event: 'rolled_back', lastRollback });
    this.#rollbacks.inc({ model: name, version, reason: label });
    this.#log?.warn(
      { model: name, version, reason, automatic },
      automatic ? 'candidate rolled back automatically' : 'candidate rolled back',
    );
  }

  #registerGauges(metrics: ServerMetrics): void {
    const states = this.#states;
    const registry = this.#registry;
    const active = function* () {
      for (const [model, s] of states) {
        if (s.active && registry.candidate(model)?.candidate === s.candidate) yield { model, s };
      }
    };
    new Gauge({
      name: 'yolo_trt_candidate_info',
      help: 'A candidate version routed for the model (1), with its mode',
      labelNames: ['model', 'version', 'mode'],
      registers: [metrics.registry],
      collect() {
        this.reset();
        for (const model of registry.names()) {
          const c = registry.routing(model).candidate;
          if (c !== undefined) this.set({ model, version: c.version, mode: c.mode }, 1);
        }
      },
    });
    const stat = (name: string, help: string, pick: (s: AgreementStats) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['model', 'version'],
        registers: [metrics.registry],
        collect() {
          this.reset();
          for (const { model, s } of active()) {
            const stats = s.tracker.stats();
            if (stats.images > 0) this.set({ model, version: s.candidate.version }, pick(stats));
          }
        },
      });
    stat(
      'yolo_trt_candidate_f1',
      'Detection match F1 (IoU 0.5, same class) of candidate vs primary',
      (s) => s.f1,
    );
    stat(
      'yolo_trt_candidate_conf_delta',
      'Mean |confidence difference| of matched detections',
      (s) => s.meanConfDelta,
    );
    stat(
      'yolo_trt_candidate_count_delta',
      'Mean (candidate - primary) detections per image',
      (s) => s.meanCountDelta,
    );
    stat('yolo_trt_candidate_latency_ratio', 'Candidate / primary per-image latency', (s) => s.latencyRatio);
  }
}

function labels(state: ModelState): { model: string; version: string };
function labels(
  state: ModelState,
  mode: CandidateMode,
): { model: string; version: string; mode: CandidateMode };
function labels(state: ModelState, mode?: CandidateMode) {
  const l = { model: state.candidate.name, version: state.candidate.version };
  return mode === undefined ? l : { ...l, mode };
}

function plain(inst: ModelInstance): RoutedInference {
  return {
    inst,
    infer: (job, startedAt, signal) => inst.infer(job, startedAt, signal),
    release: () => inst.release(),
  };
}

/** A tensor input is decoded for one model's input size: another size cannot run it. */
function sameInput(job: InferJob, a: ModelInstance, b: ModelInstance): boolean {
  if (job.kind === 'images') return true;
  const [ha, wa] = a.detector.model.imgsz;
  const [hb, wb] = b.detector.model.imgsz;
  return ha === hb && wa === wb;
}
