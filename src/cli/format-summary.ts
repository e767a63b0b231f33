import type { Detection, Speed } from '../results.js';

/**
 * "4 persons, 1 bus": counts per class in class-id order, pluralised the way Ultralytics' predict
 * summary does it (an "s" appended when there is more than one), so output reads the same.
 */
export function formatCounts(detections: readonly Detection[]): string {
  const byClass = new Map<number, { name: string; n: number }>();
  for (const d of detections) {
    const entry = byClass.get(d.cls);
    if (entry) entry.n += 1;
    else byClass.set(d.cls, { name: d.name, n: 1 });
  }
  return [...byClass.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, { name, n }]) => `${n} ${name}${n > 1 ? 's' : ''}`)
    .join(', ');
}

function ms(value: number): string {
  return `${value.toFixed(1)}ms`;
}

/**
 * One image's summary line, Ultralytics' layout: `image 1/2 path: 640x640 4 persons, 1 bus, 55.2ms`
 * where HxW is the network input and the time is inference.
 */
export function formatImageLine(
  index: number,
  total: number,
  path: string,
  inputSize: readonly [number, number],
  detections: readonly Detection[],
  speed: Speed,
): string {
  const counts = detections.length > 0 ? formatCounts(detections) : '(no detections)';
  return `image ${index}/${total} ${path}: ${inputSize[0]}x${inputSize[1]} ${counts}, ${ms(speed.inference)}`;
}

/** Sums per-stage times so the final line can print means. */
export class SpeedTotals {
  private pre = 0;
  private inf = 0;
  private post = 0;
  count = 0;

  add(speed: Speed): void {
    this.pre += speed.preprocess;
    this.inf += speed.inference;
    this.post += speed.postprocess;
    this.count += 1;
  }

  mean(): Speed {
    const n = Math.max(this.count, 1);
    return { preprocess: this.pre / n, inference: this.inf / n, postprocess: this.post / n };
  }
}

/** `Speed: 1.2ms preprocess, 55.0ms inference, 0.4ms postprocess per image at shape (1, 3, 640, 640)`. */
export function formatSpeedLine(mean: Speed, batch: number, inputSize: readonly [number, number]): string {
  return (
    `Speed: ${ms(mean.preprocess)} preprocess, ${ms(mean.inference)} inference, ` +
    `${ms(mean.postprocess)} postprocess per image at shape (${batch}, 3, ${inputSize[0]}, ${inputSize[1]})`
  );
}
