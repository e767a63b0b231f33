// Shared helpers of the server tests: a fake detector (batching, queueing, swaps without a model) and
// loopback HTTP helpers. Everything imports the BUILT package (dist/).
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import {
  YoloTrtError,
  createServer,
  type DetectResult,
  type ModelInfo,
  type ServerOptions,
} from '../../dist/index.js';
import type { ServedDetector } from '../../dist/server/served-detector.js';
import type { DetectorOptions, DetectOptions } from '../../dist/options.js';
import type { SettledResult } from '../../dist/detector.js';

import { modelPath } from '../helpers/assets.js';

export { ASSETS, imagePath, modelPath } from '../helpers/assets.js';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface FakeOptions {
  /** ms per run call. */
  delayMs?: number;
  maxBatch?: number;
  concurrency?: number;
  imgsz?: [number, number];
  /** Detector.create fails with what this returns (undefined = succeeds). */
  failCreate?: (o: DetectorOptions) => YoloTrtError | undefined;
  /** Called at create with the options the server passed. */
  onCreate?: (o: DetectorOptions, d: FakeDetector) => void;
}

/**
 * A detector that "decodes" any bytes not starting with "BAD" into a WxH image where W = byte length,
 * and returns one detection whose conf is the first byte / 255 and whose class is the model version's
 * tag (so a test can tell versions apart).
 */
export class FakeDetector implements ServedDetector {
  readonly model: ModelInfo;
  readonly backend = 'cpu';
  readonly maxBatch: number;
  readonly concurrency: number;
  /** Images per run call, in call order. */
  readonly runs: number[] = [];
  readonly optionsSeen: (DetectOptions | undefined)[] = [];
  disposed = false;
  running = 0;
  readonly #delayMs: number;
  readonly tag: number;

  constructor(modelPath: string, o: FakeOptions = {}, tag = 0) {
    const imgsz = o.imgsz ?? [64, 64];
    this.model = {
      path: modelPath,
      names: ['person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus'],
      imgsz,
      stride: 32,
      task: 'detect',
      batch: 1,
      inputName: 'images',
      outputName: 'output0',
      inputType: 'float32',
      numClasses: 6,
      numAnchors: 84,
      endToEnd: false,
      outputRows: null,
      ignoredOptions: [],
      dynamicHW: false,
      metadata: {},
      source: { names: 'metadata', imgsz: 'metadata', endToEnd: null },
    };
    this.maxBatch = o.maxBatch ?? 1;
    this.concurrency = o.concurrency ?? 2;
    this.#delayMs = o.delayMs ?? 5;
    this.tag = tag;
  }

  async #work(n: number, options: DetectOptions | undefined): Promise<void> {
    if (this.disposed) throw new YoloTrtError('ERR_DISPOSED', 'This Detector has been disposed');
    this.runs.push(n);
    this.optionsSeen.push(options);
    this.running++;
    try {
      await sleep(this.#delayMs);
    } finally {
      this.running--;
    }
    if (this.disposed) throw new YoloTrtError('ERR_INTERNAL', 'disposed while running: the drain is broken');
  }

  #result(width: number, height: number, conf: number): DetectResult {
    return {
      detections: [
        { box: [1, 2, 3, 4], conf, cls: this.tag, name: this.model.names[this.tag] ?? String(this.tag) },
      ],
      width,
      height,
      speed: { preprocess: 1, inference: 2, postprocess: 0.5 },
    };
  }

  async detectBatchSettled(inputs: readonly unknown[], options?: DetectOptions): Promise<SettledResult[]> {
    await this.#work(inputs.length, options);
    return inputs.map((input): SettledResult => {
      if (input instanceof Uint8Array) {
        if (input.length === 0 || Buffer.from(input.subarray(0, 3)).toString() === 'BAD') {
          return { ok: false, error: new YoloTrtError('ERR_BAD_IMAGE', 'Image buffer could not be decoded') };
        }
        return { ok: true, result: this.#result(input.length, 1, (input[0] ?? 0) / 255) };
      }
      const raw = input as { width: number; height: number };
      return { ok: true, result: this.#result(raw.width, raw.height, 0.5) };
    });
  }

  async detectTensor(tensor: Float32Array, n: number, options?: DetectOptions): Promise<DetectResult[]> {
    await this.#work(n, options);
    const per = tensor.length / n;
    return Array.from({ length: n }, (_, i) =>
      this.#result(this.model.imgsz[1], this.model.imgsz[0], tensor[i * per] ?? 0),
    );
  }

  async dispose(): Promise<void> {
    this.disposed = true;
  }
}

/** A factory that makes FakeDetectors and remembers them. Version tag = the digit in the model's path. */
export function fakeFactory(o: FakeOptions = {}) {
  const made: FakeDetector[] = [];
  const factory = async (options: DetectorOptions) => {
    const failure = o.failCreate?.(options);
    if (failure !== undefined) throw failure;
    const m = /\/(\d+)\/[^/]+$/.exec(options.model);
    const d = new FakeDetector(options.model, o, m ? Number(m[1]) % 6 : 0);
    o.onCreate?.(options, d);
    made.push(d);
    return d;
  };
  return { factory, made };
}

/** Creates a server on a fake detector. */
export async function fakeServer(
  options: Partial<ServerOptions> = {},
  fake: FakeOptions = {},
): Promise<{ app: FastifyInstance; made: FakeDetector[] }> {
  const { factory, made } = fakeFactory(fake);
  const app = await createServer({
    // Any existing file will do: the fake never reads it, the registry only stats it.
    models: [{ name: 'fake', path: modelPath() }],
    processMetrics: false,
    ...options,
    detectorFactory: factory,
  });
  return { app, made };
}

/** Listens on 127.0.0.1, any free port; returns the base URL. */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return `http://127.0.0.1:${address.port}`;
}

/** A temporary model repository. `versions` maps model name -> version numbers, each a copy of `source`. */
export async function makeRepository(source: string, versions: Record<string, number[]>): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'yolo-trt-repo-'));
  for (const [name, vs] of Object.entries(versions)) {
    for (const v of vs) await addVersion(root, name, v, source);
  }
  return root;
}

export async function addVersion(root: string, name: string, version: number, source: string): Promise<void> {
  const dir = path.join(root, name, String(version));
  await mkdir(dir, { recursive: true });
  // A fake model only needs a file to exist; a real one is copied (symlinks out of the repository are refused).
  if (source === '') await writeFile(path.join(dir, 'model.onnx'), `fake model ${name} v${version}`);
  else await copyFile(source, path.join(dir, 'model.onnx'));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Checks the shape every error response must have. */
export function errorBody(body: string): { error: string; code: string } {
  const parsed = JSON.parse(body) as { error?: unknown; code?: unknown };
  if (typeof parsed.error !== 'string' || typeof parsed.code !== 'string') {
    throw new Error(`not an error body: ${body.slice(0, 200)}`);
  }
  return { error: parsed.error, code: parsed.code };
}
