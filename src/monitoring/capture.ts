/**
 * Capture for retraining: served images chosen by sampling policies are written, with the model's
 * predictions as pre-labels, into an Ultralytics dataset directory:
 *
 *   DIR/images/<id>.<ext>   the image as it was received (encoded bytes, never re-encoded)
 *   DIR/labels/<id>.txt     one line per detection: "cls cx cy w h", normalised to 0..1 (YOLO txt)
 *   DIR/data.yaml           path, train/val (both images/), and the model's class names
 *
 * The directory is bounded (maxFiles images, maxBytes of images + labels); the oldest captures are
 * deleted first. Writing happens off the request path: `offer()` only decides (cheap, synchronous) and
 * queues; a single writer drains the queue. A full queue drops the capture and counts it, so capture
 * never adds latency under pressure.
 */
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { invalidOption } from '../errors.js';
import type { DetectResult } from '../results.js';

export interface CapturePolicies {
  /** Capture this share of all images (0..1). Default 0. */
  rate?: number;
  /** Capture images with a detection scoring below this (uncertain predictions). Default: off. */
  lowConfidence?: number;
  /** Capture every image while the model is in drift alert. Default false. */
  driftAlert?: boolean;
  /** Capture images showing a class seen in fewer than this many captures so far (rare classes). Default: off. */
  classQuota?: number;
}

export interface CaptureOptions {
  dir: string;
  /** Class names of the model (data.yaml). */
  names: readonly string[];
  policies: CapturePolicies;
  /** Most images kept. Default 10_000. */
  maxFiles?: number;
  /** Most bytes kept (images + labels). Default 1 GiB. */
  maxBytes?: number;
  /** Captures waiting to be written; more are dropped. Default 64. */
  queueSize?: number;
  /** For tests. Default Math.random. */
  random?: () => number;
}

export type CaptureReason = 'rate' | 'lowConfidence' | 'driftAlert' | 'classQuota';

export interface CaptureStats {
  captured: number;
  dropped: number;
  evicted: number;
  failed: number;
  byReason: Record<CaptureReason, number>;
  files: number;
  bytes: number;
}

interface Stored {
  id: string;
  image: string;
  label: string;
  bytes: number;
}

interface Pending {
  id: string;
  image: Uint8Array;
  result: DetectResult;
}

/** File extension of encoded image bytes from their magic number ('bin' when unknown). */
export function imageExtension(bytes: Uint8Array): string {
  const b = (i: number) => bytes[i] ?? -1;
  if (b(0) === 0xff && b(1) === 0xd8) return 'jpg';
  if (b(0) === 0x89 && b(1) === 0x50 && b(2) === 0x4e && b(3) === 0x47) return 'png';
  if (b(0) === 0x52 && b(1) === 0x49 && b(2) === 0x46 && b(3) === 0x46 && b(8) === 0x57) return 'webp';
  if (b(0) === 0x42 && b(1) === 0x4d) return 'bmp';
  if ((b(0) === 0x49 && b(1) === 0x49) || (b(0) === 0x4d && b(1) === 0x4d)) return 'tif';
  return 'bin';
}

/** YOLO txt label lines of a result: class, centre and size normalised by the image size. */
export function yoloLabels(result: DetectResult): string {
  return result.detections
    .map((d) => {
      const [x1, y1, x2, y2] = d.box;
      const f = (v: number) => Math.min(1, Math.max(0, v)).toFixed(6);
      return `${d.cls} ${f((x1 + x2) / 2 / result.width)} ${f((y1 + y2) / 2 / result.height)} ${f((x2 - x1) / result.width)} ${f((y2 - y1) / result.height)}`;
    })
    .join('\n');
}

function dataYaml(dir: string, names: readonly string[]): string {
  const quote = (s: string) => JSON.stringify(s); // a JSON string is a valid YAML scalar
  return [
    `# Written by yolo-trt capture: model predictions as pre-labels, to review before training.`,
    `path: ${quote(path.resolve(dir))}`,
    'train: images',
    'val: images',
    'names:',
    ...names.map((n, i) => `  ${i}: ${quote(n)}`),
    '',
  ].join('\n');
}

function checkPolicies(p: CapturePolicies): void {
  if (typeof p !== 'object' || p === null) throw invalidOption('policies', 'an object', p);
  const unit = (name: string, v: unknown) => {
    if (v !== undefined && (typeof v !== 'number' || !(v >= 0 && v <= 1))) {
      throw invalidOption(`policies.${name}`, 'a number between 0 and 1', v);
    }
  };
  unit('rate', p.rate);
  unit('lowConfidence', p.lowConfidence);
  if (p.driftAlert !== undefined && typeof p.driftAlert !== 'boolean') {
    throw invalidOption('policies.driftAlert', 'a boolean', p.driftAlert);
  }
  if (p.classQuota !== undefined && !(Number.isInteger(p.classQuota) && p.classQuota > 0)) {
    throw invalidOption('policies.classQuota', 'a positive integer', p.classQuota);
  }
}

export class CaptureSink {
  readonly dir: string;
  readonly #o: Required<Omit<CaptureOptions, 'dir'>>;
  readonly #stored: Stored[] = [];
  readonly #queue: Pending[] = [];
  readonly #perClass = new Map<number, number>();
  readonly #stats: CaptureStats = {
    captured: 0,
    dropped: 0,
    evicted: 0,
    failed: 0,
    byReason: { rate: 0, lowConfidence: 0, driftAlert: 0, classQuota: 0 },
    files: 0,
    bytes: 0,
  };
  #bytes = 0;
  #seq = 0;
  #writing: Promise<void> | null = null;

  private constructor(options: CaptureOptions) {
    this.dir = options.dir;
    this.#o = {
      names: options.names,
      policies: options.policies,
      maxFiles: options.maxFiles ?? 10_000,
      maxBytes: options.maxBytes ?? 1024 ** 3,
      queueSize: options.queueSize ?? 64,
      random: options.random ?? Math.random,
    };
  }

  /** Creates the dataset directory (keeping, and counting against the bounds, earlier captures). */
  static async open(options: CaptureOptions): Promise<CaptureSink> {
    if (typeof options.dir !== 'string' || options.dir === '')
      throw invalidOption('dir', 'a directory', options.dir);
    checkPolicies(options.policies);
    for (const k of ['maxFiles', 'maxBytes', 'queueSize'] as const) {
      const v = options[k];
      if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw invalidOption(k, 'a positive integer', v);
    }
    const sink = new CaptureSink(options);
    await mkdir(path.join(options.dir, 'images'), { recursive: true });
    await mkdir(path.join(options.dir, 'labels'), { recursive: true });
    await writeFile(path.join(options.dir, 'data.yaml'), dataYaml(options.dir, options.names));
    // Earlier captures (ids sort by time) count against the bounds and are evicted first.
    for (const name of (await readdir(path.join(options.dir, 'images'))).sort()) {
      const id = name.slice(0, name.lastIndexOf('.'));
      const image = path.join(options.dir, 'images', name);
      const label = path.join(options.dir, 'labels', `${id}.txt`);
      const size = (await stat(image)).size + (await stat(label).catch(() => ({ size: 0 }))).size;
      sink.#stored.push({ id, image, label, bytes: size });
      sink.#bytes += size;
    }
    await sink.#evict();
    return sink;
  }

  get stats(): CaptureStats {
    return {
      ...this.#stats,
      byReason: { ...this.#stats.byReason },
      files: this.#stored.length,
      bytes: this.#bytes,
    };
  }

  /** Why an image would be captured, or null (first matching policy). */
  decide(result: DetectResult, context: { driftAlert?: boolean } = {}): CaptureReason | null {
    const p = this.#o.policies;
    if (p.driftAlert === true && context.driftAlert === true) return 'driftAlert';
    if (p.lowConfidence !== undefined && result.detections.some((d) => d.conf < p.lowConfidence!)) {
      return 'lowConfidence';
    }
    if (
      p.classQuota !== undefined &&
      result.detections.some((d) => (this.#perClass.get(d.cls) ?? 0) < p.classQuota!)
    ) {
      return 'classQuota';
    }
    if (p.rate !== undefined && p.rate > 0 && this.#o.random() < p.rate) return 'rate';
    return null;
  }

  /**
   * Offers one served image and its result. Decides at once; queues the write or, with the queue full,
   * drops it (counted). Never waits for the disk. Returns whether the image was queued.
   */
  offer(image: Uint8Array, result: DetectResult, context: { driftAlert?: boolean } = {}): boolean {
    const reason = this.decide(result, context);
    if (reason === null) return false;
    if (this.#queue.length >= this.#o.queueSize) {
      this.#stats.dropped++;
      return false;
    }
    this.#stats.byReason[reason]++;
    for (const cls of new Set(result.detections.map((d) => d.cls))) {
      this.#perClass.set(cls, (this.#perClass.get(cls) ?? 0) + 1);
    }
    // Time-ordered ids: the oldest capture sorts first (also after a restart).
    const id = `${Date.now().toString(36).padStart(9, '0')}-${(this.#seq++).toString(36).padStart(5, '0')}`;
    this.#queue.push({ id, image, result });
    this.#writing ??= this.#drain();
    return true;
  }

  /** Resolves once every queued capture is written (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.#writing !== null) await this.#writing;
  }

  async #drain(): Promise<void> {
    try {
      for (let next = this.#queue.shift(); next !== undefined; next = this.#queue.shift()) {
        const imagePath = path.join(this.dir, 'images', `${next.id}.${imageExtension(next.image)}`);
        const labelPath = path.join(this.dir, 'labels', `${next.id}.txt`);
        const label = yoloLabels(next.result);
        try {
          await writeFile(imagePath, next.image);
          await writeFile(labelPath, label.length > 0 ? label + '\n' : '');
          const bytes = next.image.length + Buffer.byteLength(label) + (label.length > 0 ? 1 : 0);
          this.#stored.push({ id: next.id, image: imagePath, label: labelPath, bytes });
          this.#bytes += bytes;
          this.#stats.captured++;
          await this.#evict();
        } catch {
          this.#stats.failed++;
        }
      }
    } finally {
      this.#writing = null;
    }
  }

  async #evict(): Promise<void> {
    while (
      this.#stored.length > this.#o.maxFiles ||
      (this.#bytes > this.#o.maxBytes && this.#stored.length > 0)
    ) {
      const old = this.#stored.shift()!;
      this.#bytes -= old.bytes;
      this.#stats.evicted++;
      await rm(old.image, { force: true });
      await rm(old.label, { force: true });
    }
  }
}
