import type { Detection } from '../results.js';

type Row = [number, number, number, number];
const f32 = Math.fround;

/**
 * Ultralytics' `Boxes` view of one image's detections: the same boxes in several layouts, computed on
 * demand. Arithmetic is float32, as Ultralytics does it on float32 tensors, so normalised values written
 * with 6 significant digits match its label files.
 */
export class Boxes {
  readonly #detections: readonly Detection[];
  readonly #width: number;
  readonly #height: number;

  constructor(detections: readonly Detection[], width: number, height: number) {
    this.#detections = detections;
    this.#width = width;
    this.#height = height;
  }

  get length(): number {
    return this.#detections.length;
  }

  /** [x1, y1, x2, y2] in pixels. */
  get xyxy(): Row[] {
    return this.#detections.map((d) => [d.box[0], d.box[1], d.box[2], d.box[3]]);
  }

  /** [centre x, centre y, width, height] in pixels. */
  get xywh(): Row[] {
    return this.#detections.map(({ box: [x1, y1, x2, y2] }) => [
      f32(f32(x1 + x2) / 2),
      f32(f32(y1 + y2) / 2),
      f32(x2 - x1),
      f32(y2 - y1),
    ]);
  }

  /** xyxy divided by the image width/height. */
  get xyxyn(): Row[] {
    const w = this.#width;
    const h = this.#height;
    return this.xyxy.map(([a, b, c, d]) => [f32(a / w), f32(b / h), f32(c / w), f32(d / h)]);
  }

  /** xywh divided by the image width/height (YOLO label format). */
  get xywhn(): Row[] {
    const w = this.#width;
    const h = this.#height;
    return this.xywh.map(([a, b, c, d]) => [f32(a / w), f32(b / h), f32(c / w), f32(d / h)]);
  }

  get conf(): number[] {
    return this.#detections.map((d) => d.conf);
  }

  get cls(): number[] {
    return this.#detections.map((d) => d.cls);
  }

  /** Track ids, or null when these boxes were not tracked (Ultralytics' `boxes.id`). */
  get id(): number[] | null {
    if (this.#detections.length === 0 || this.#detections.some((d) => d.id === undefined)) return null;
    return this.#detections.map((d) => d.id!);
  }

  /** Rows [x1, y1, x2, y2, (id,) conf, cls], Ultralytics' `boxes.data`. */
  get data(): number[][] {
    const ids = this.id;
    return this.#detections.map((d, i) => [...d.box, ...(ids ? [ids[i]!] : []), d.conf, d.cls]);
  }
}
