import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { ResultObserver } from './drift-service.js';
import { YoloTrtError } from '../errors.js';
import { checkCandidateVersions, type CandidateConfig } from './candidate-config.js';
import { HttpError } from './http-errors.js';
import { mergeModelConfig, resolveBatching, type ModelConfig } from './model-config.js';
import { ModelInstance, type SourceFingerprint } from './model-instance.js';
import { checkModelName, type ModelRepository, type PlannedVersion } from './model-repository.js';
import type { ServerMetrics } from './metrics.js';
import { OverloadLog } from './overload-log.js';
import type { DetectorFactory } from './served-detector.js';

/**
 * Models by name, each with the versions it serves. Swaps are zero-downtime:
 *
 * 1. a load builds and warms up the new versions in the background while the current ones keep serving;
 * 2. the serving set of a model is one immutable Map, replaced in a single assignment (atomic switch);
 * 3. versions that left the set drain: requests holding a lease finish on them, then they are disposed;
 * 4. a load that fails disposes what it built, leaves the serving set untouched and reports why.
 *
 * Loads and unloads of one model run one after another; different models load independently.
 */

export type VersionState = 'READY' | 'LOADING' | 'UNLOADING' | 'UNAVAILABLE';

export interface IndexEntry {
  name: string;
  version?: string;
  state?: VersionState;
  reason?: string;
}

type Source = { kind: 'file'; path: string; config: ModelConfig } | { kind: 'repository' };

interface Entry {
  name: string;
  source: Source;
  /** The serving set: replaced, never mutated. */
  serving: ReadonlyMap<string, ModelInstance>;
  states: Map<string, { state: VersionState; reason: string }>;
  /** Loaded successfully and not unloaded since: readiness counts it. */
  wanted: boolean;
  loading: number;
  chain: Promise<unknown>;
  routing: Routing;
}

/**
 * Where unversioned requests go. The primary is the pinned version (set by a promote) while it serves,
 * else the newest serving version other than the candidate. Promote and rollback decisions stand across
 * loads until the config's candidate changes (`seen` is the JSON of the last one applied).
 */
interface Routing {
  candidate: CandidateConfig | undefined;
  pin: string | undefined;
  seen: string;
}

/** The candidate of a model now, with the instances it is compared on (no lease taken). */
export interface ActiveCandidate {
  config: CandidateConfig;
  candidate: ModelInstance;
  primary: ModelInstance;
}

export interface RegistryOptions {
  factory: DetectorFactory;
  metrics: ServerMetrics;
  repository?: ModelRepository | undefined;
  /** Config under every model's own. */
  defaults?: ModelConfig;
  /** Server-wide pixel limit handed to every detector. */
  limitInputPixels: number;
  log?: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
    error?(obj: object, msg: string): void;
  };
  /** Where a model's results go for drift monitoring (undefined: nowhere). */
  observerFor?: ((model: string) => ResultObserver | undefined) | undefined;
}

export class ModelRegistry {
  readonly #entries = new Map<string, Entry>();
  readonly #o: RegistryOptions;
  readonly #retiring = new Set<Promise<void>>();
  #closing = false;
  readonly #overload: OverloadLog;

  constructor(options: RegistryOptions) {
    this.#o = options;
    this.#overload = new OverloadLog(options.log);
  }

  get repository(): ModelRepository | undefined {
    return this.#o.repository;
  }

  /** Registers a model served from an explicit file (--model NAME=PATH). Does not load it. */
  addFile(name: string, file: string, config: ModelConfig = {}): void {
    checkModelName(name);
    if (this.#entries.has(name)) {
      throw new YoloTrtError('ERR_INVALID_OPTION', `Model name '${name}' is given twice`);
    }
    this.#entries.set(name, this.#newEntry(name, { kind: 'file', path: path.resolve(file), config }));
  }

  names(): string[] {
    return [...this.#entries.keys()].sort();
  }

  /**
   * Loads (or reloads) a model: file models from their path, others from the repository. Versions whose
   * file and config are unchanged keep serving as they are. Resolves once the new set serves.
   */
  async load(name: string, override?: ModelConfig): Promise<void> {
    checkModelName(name);
    if (this.#closing) throw new HttpError(503, 'ERR_SHUTTING_DOWN', 'the server is shutting down');
    let entry = this.#entries.get(name);
    if (entry === undefined) {
      const repo = this.#o.repository;
      if (repo === undefined) {
        throw new HttpError(
          400,
          'ERR_MODEL_NOT_FOUND',
          `Request for unknown model: '${name}' is not found (no --model-repository to load it from)`,
        );
      }
      if (!(await repo.has(name))) {
        throw new HttpError(
          400,
          'ERR_MODEL_NOT_FOUND',
          `Request for unknown model: '${name}' is not in the model repository`,
        );
      }
      entry = this.#entries.get(name) ?? this.#newEntry(name, { kind: 'repository' });
      this.#entries.set(name, entry);
    }
    const e = entry;
    const run = e.chain.then(() => this.#load(e, override));
    e.chain = run.catch(() => undefined);
    return run;
  }

  /** Stops serving a model; requests already running finish first. */
  async unload(name: string): Promise<void> {
    checkModelName(name);
    const e = this.#entries.get(name);
    if (e === undefined) throw unknownModel(name);
    const run = e.chain.then(() => {
      const old = e.serving;
      e.serving = new Map();
      e.wanted = false;
      for (const [v, inst] of old) this.#retire(e, v, inst, 'unloaded');
      this.#o.metrics.modelLoad(e.name, 'unloaded');
      this.#o.log?.info({ model: e.name }, 'model unloaded');
    });
    e.chain = run.catch(() => undefined);
    return run;
  }

  /**
   * The instance a request should use, with a lease taken: the given version, or the newest serving
   * one. The caller must call `release()` on it when done.
   */
  acquire(name: string, version?: string): ModelInstance {
    const inst = this.peek(name, version);
    inst.acquire();
    return inst;
  }

  /** Like acquire, without a lease (metadata, config). */
  peek(name: string, version?: string): ModelInstance {
    const e = this.#entries.get(name);
    if (e === undefined) throw unknownModel(name);
    if (version !== undefined) {
      const inst = /^[0-9]{1,18}$/.test(version) ? e.serving.get(String(Number(version))) : undefined;
      if (inst !== undefined && !inst.healthy) {
        throw new HttpError(
          503,
          'ERR_MODEL_NOT_READY',
          `model '${name}' version ${version} is not ready: ${inst.detector.deviceLost ?? 'its backend failed'}`,
        );
      }
      if (inst !== undefined) return inst;
      const st = e.states.get(version)?.state;
      if (st === 'LOADING') {
        throw new HttpError(503, 'ERR_MODEL_NOT_READY', `model '${name}' version ${version} is loading`, {
          retryAfter: 1,
        });
      }
      throw new HttpError(
        400,
        'ERR_MODEL_NOT_FOUND',
        `Request for unknown model: '${name}' version ${version.slice(0, 20)} is not found (serving: ${[...e.serving.keys()].join(', ') || 'none'})`,
      );
    }
    const best = primaryOf(e);
    if (best !== undefined && !best.healthy) {
      throw new HttpError(
        503,
        'ERR_MODEL_NOT_READY',
        `model '${name}' is not ready: ${best.detector.deviceLost ?? 'its backend failed'}`,
      );
    }
    if (best !== undefined) return best;
    if (e.loading > 0) {
      throw new HttpError(503, 'ERR_MODEL_NOT_READY', `model '${name}' is loading`, { retryAfter: 1 });
    }
    const why = [...e.states.values()].map((s) => s.reason).find((r) => r !== '');
    throw new HttpError(
      503,
      'ERR_MODEL_NOT_READY',
      `model '${name}' has no ready version${why ? ` (${why})` : ''}`,
    );
  }

  /** The model's candidate, when it has one and both it and the primary serve. */
  candidate(name: string): ActiveCandidate | undefined {
    const e = this.#entries.get(name);
    if (e === undefined) throw unknownModel(name);
    const config = e.routing.candidate;
    if (config === undefined) return undefined;
    const candidate = e.serving.get(config.version);
    const primary = primaryOf(e);
    if (candidate === undefined || primary === undefined) return undefined;
    return { config, candidate, primary };
  }

  /** The configured candidate (served or not) and the version unversioned requests go to. */
  routing(name: string): { candidate: CandidateConfig | undefined; primary: string | undefined } {
    const e = this.#entries.get(name);
    if (e === undefined) throw unknownModel(name);
    return { candidate: e.routing.candidate, primary: primaryOf(e)?.version };
  }

  /**
   * The candidate becomes the primary: unversioned requests go to it from now on, and the model has no
   * candidate any more. 409 ERR_NO_CANDIDATE when it has none (or it does not serve).
   */
  promote(name: string): { previous: string | undefined; primary: string } {
    checkModelName(name);
    const e = this.#entries.get(name);
    if (e === undefined) throw unknownModel(name);
    const c = e.routing.candidate;
    if (c === undefined || !e.serving.has(c.version)) throw noCandidate(name);
    const previous = primaryOf(e)?.version;
    e.routing.candidate = undefined;
    e.routing.pin = c.version;
    return { previous, primary: c.version };
  }

  /**
   * Stops routing to the candidate; unversioned requests stay on the primary, pinned. The candidate
   * keeps serving requests that name its version, so it can still be inspected; the next load with a
   * changed candidate config decides again. 409 ERR_NO_CANDIDATE when
   * the model has none.
   */
  rollback(name: string): { version: string; primary: string | undefined } {
    checkModelName(name);
    const e = this.#entries.get(name);
    if (e === undefined) throw unknownModel(name);
    const c = e.routing.candidate;
    if (c === undefined) throw noCandidate(name);
    // The primary stays the primary: without the pin, the newest version (often the candidate) would be.
    e.routing.pin = primaryOf(e)?.version;
    e.routing.candidate = undefined;
    return { version: c.version, primary: e.routing.pin };
  }

  /** Serving instances of a model, newest first (empty when none; 400 "Request for unknown model" when unknown). */
  serving(name: string): ModelInstance[] {
    const e = this.#entries.get(name);
    if (e === undefined) throw unknownModel(name);
    return [...e.serving.values()].sort((a, b) => Number(b.version) - Number(a.version));
  }

  /** Every serving instance of every model. */
  *instances(): Iterable<ModelInstance> {
    for (const e of this.#entries.values()) yield* e.serving.values();
  }

  /** Ready = not shutting down and every model that should serve has a serving version. */
  ready(): boolean {
    if (this.#closing) return false;
    for (const e of this.#entries.values()) if (e.wanted && e.serving.size === 0) return false;
    for (const inst of this.instances()) if (!inst.healthy) return false;
    return true;
  }

  /** Live = no model lost its GPU context (a sticky CUDA error: only a new process recovers). */
  live(): boolean {
    for (const inst of this.instances()) if ((inst.detector.deviceLost ?? null) !== null) return false;
    return true;
  }

  /** Triton's repository index: every model in the repository or registered, with version states. */
  async index(readyOnly: boolean): Promise<IndexEntry[]> {
    const names = new Set(this.#entries.keys());
    if (this.#o.repository !== undefined) for (const n of await this.#o.repository.list()) names.add(n);
    const out: IndexEntry[] = [];
    for (const name of [...names].sort()) {
      const e = this.#entries.get(name);
      const states = e === undefined ? [] : [...e.states].sort((a, b) => Number(a[0]) - Number(b[0]));
      if (states.length === 0 && !readyOnly) out.push({ name });
      for (const [version, s] of states) {
        if (readyOnly && s.state !== 'READY') continue;
        out.push({ name, version, state: s.state, reason: s.reason });
      }
    }
    return out;
  }

  /** Stops loads, drains and disposes everything. */
  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all([...this.#entries.values()].map((e) => e.chain));
    for (const e of this.#entries.values()) {
      const old = e.serving;
      e.serving = new Map();
      for (const [v, inst] of old) this.#retire(e, v, inst, 'server shut down');
    }
    await Promise.all(this.#retiring);
    this.#overload.close();
  }

  /** Resolves when every swapped-out version has been disposed (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.all(this.#retiring);
  }

  #newEntry(name: string, source: Source): Entry {
    return {
      name,
      source,
      serving: new Map(),
      states: new Map(),
      wanted: false,
      loading: 0,
      chain: Promise.resolve(),
      routing: { candidate: undefined, pin: undefined, seen: 'null' },
    };
  }

  async #plan(
    e: Entry,
    override: ModelConfig | undefined,
  ): Promise<{ config: ModelConfig; versions: PlannedVersion[] }> {
    if (e.source.kind === 'file') {
      const config = mergeModelConfig(this.#o.defaults, e.source.config, override);
      const versions: PlannedVersion[] = [{ version: '1', path: e.source.path }];
      const c = config.candidate;
      // A file model's candidate comes with its own file, served as its own version.
      if (c?.path !== undefined && c.version !== '1') versions.push({ version: c.version, path: c.path });
      return { config, versions };
    }
    return this.#o.repository!.plan(e.name, this.#o.defaults ?? {}, override);
  }

  async #load(e: Entry, override: ModelConfig | undefined): Promise<void> {
    if (this.#closing) throw new HttpError(503, 'ERR_SHUTTING_DOWN', 'the server is shutting down');
    const log = this.#o.log;
    const plan = await this.#plan(e, override);
    const { candidate, ...instanceConfig } = plan.config;
    // Which version is the candidate is routing, not how a version runs: changing it reloads nothing.
    const configJson = JSON.stringify(instanceConfig);
    const seen = JSON.stringify(candidate ?? null);
    const nextCandidate = seen === e.routing.seen ? e.routing.candidate : (candidate ?? undefined);
    if (nextCandidate !== undefined) {
      checkCandidateVersions(
        e.name,
        nextCandidate,
        plan.versions.map((v) => v.version),
      );
    }
    const next = new Map<string, ModelInstance>();
    const toLoad: { v: PlannedVersion; fp: SourceFingerprint }[] = [];
    for (const v of plan.versions) {
      const fp = await fingerprint(v.path, configJson);
      const current = e.serving.get(v.version);
      if (current !== undefined && sameSource(current.fingerprint, fp)) next.set(v.version, current);
      else toLoad.push({ v, fp });
    }
    const built: ModelInstance[] = [];
    e.loading++;
    for (const { v } of toLoad)
      if (!e.serving.has(v.version)) e.states.set(v.version, { state: 'LOADING', reason: '' });
    try {
      for (const { v, fp } of toLoad) {
        const started = performance.now();
        const detector = await this.#o.factory({
          model: v.path,
          backend: plan.config.backend,
          conf: plan.config.conf,
          iou: plan.config.iou,
          maxDet: plan.config.maxDet,
          classes: plan.config.classes,
          agnostic: plan.config.agnostic,
          imgsz: plan.config.imgsz,
          limitInputPixels: this.#o.limitInputPixels,
          preprocessThreads: plan.config.preprocessThreads,
          // Served inference shares the cores with the HTTP work: idle pool threads sleep unless the
          // config asks for spinning (docs/serving.md, "Overload").
          cpu: { spinning: false, ...plan.config.cpu },
        });
        const inst = new ModelInstance({
          name: e.name,
          version: v.version,
          detector,
          batching: resolveBatching(plan.config),
          metrics: this.#o.metrics,
          fingerprint: fp,
          config: plan.config,
          log: this.#o.log,
          observer: this.#o.observerFor?.(e.name),
          onQueueFull: () => this.#overload.queueFull(e.name),
        });
        built.push(inst);
        await inst.warmUp();
        next.set(v.version, inst);
        log?.info(
          {
            model: e.name,
            version: v.version,
            backend: detector.backend,
            ms: Math.round(performance.now() - started),
          },
          'model version loaded and warmed up',
        );
      }
    } catch (err) {
      for (const inst of built) void inst.retire().catch(() => undefined);
      const reason = err instanceof Error ? err.message : String(err);
      for (const { v } of toLoad) {
        if (e.serving.has(v.version)) continue; // still serving its previous build
        e.states.set(v.version, { state: 'UNAVAILABLE', reason: `load failed: ${reason}` });
      }
      this.#o.metrics.modelLoad(e.name, 'failed');
      log?.warn({ model: e.name, err: reason }, 'model load failed; the serving versions are unchanged');
      throw err;
    } finally {
      e.loading--;
    }
    // The switch: one assignment. Requests that took a lease on an old instance keep it.
    const old = e.serving;
    e.serving = next;
    // Readiness counts a model once it has loaded: a failed first load of a new model is reported by
    // the load call, it does not take the whole server out of rotation.
    e.wanted = true;
    for (const v of next.keys()) e.states.set(v, { state: 'READY', reason: '' });
    if (seen !== e.routing.seen) e.routing = { candidate: nextCandidate, pin: undefined, seen };
    else e.routing.candidate = nextCandidate;
    if (e.routing.pin !== undefined && !next.has(e.routing.pin)) e.routing.pin = undefined;
    for (const [v, inst] of old) {
      if (next.get(v) !== inst)
        this.#retire(e, v, inst, next.has(v) ? 'replaced by a new load' : 'removed by the version policy');
    }
    this.#o.metrics.modelLoad(e.name, 'loaded');
  }

  #retire(e: Entry, version: string, inst: ModelInstance, reason: string): void {
    const replaced = e.serving.has(version);
    if (!replaced) e.states.set(version, { state: 'UNLOADING', reason });
    const p = inst
      .retire()
      .catch((err: unknown) =>
        this.#o.log?.warn({ model: e.name, version, err: String(err) }, 'dispose failed'),
      )
      .finally(() => {
        this.#retiring.delete(p);
        if (!e.serving.has(version) && e.states.get(version)?.state === 'UNLOADING') {
          e.states.set(version, { state: 'UNAVAILABLE', reason });
        }
      });
    this.#retiring.add(p);
  }
}

/** The version unversioned requests go to: the pin while it serves, else the newest but the candidate. */
function primaryOf(e: Entry): ModelInstance | undefined {
  const pinned = e.routing.pin === undefined ? undefined : e.serving.get(e.routing.pin);
  if (pinned !== undefined) return pinned;
  const skip = e.routing.candidate?.version;
  let best: ModelInstance | undefined;
  for (const inst of e.serving.values()) {
    if (inst.version === skip) continue;
    if (best === undefined || Number(inst.version) > Number(best.version)) best = inst;
  }
  return best;
}

function noCandidate(name: string): HttpError {
  return new HttpError(
    409,
    'ERR_NO_CANDIDATE',
    `model '${name}' has no candidate version to promote or roll back`,
  );
}

/** Triton's answer to a request naming a model it does not have: 400, "Request for unknown model". */
function unknownModel(name: string): HttpError {
  return new HttpError(400, 'ERR_MODEL_NOT_FOUND', `Request for unknown model: '${name}' is not found`);
}

async function fingerprint(file: string, config: string): Promise<SourceFingerprint> {
  try {
    const s = await stat(file);
    return { path: file, size: s.size, mtimeMs: s.mtimeMs, ino: s.ino, config };
  } catch (err) {
    throw new YoloTrtError(
      'ERR_MODEL_NOT_FOUND',
      `Model file ${file} cannot be read: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

function sameSource(a: SourceFingerprint, b: SourceFingerprint): boolean {
  return (
    a.path === b.path &&
    a.size === b.size &&
    a.mtimeMs === b.mtimeMs &&
    a.ino === b.ino &&
    a.config === b.config
  );
}
