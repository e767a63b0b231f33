import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, extname } from 'node:path';
import { YoloTrtError } from '../errors.js';
import type { NativeImage } from '../native/binding.js';
import type { DetectResult, Detection, ImageStats, Speed } from '../results.js';
import { Boxes } from './boxes.js';
import { plotImage, type OutputFormat, type PlotOptions } from './plot.js';
import { appendLabels, saveCrops } from './save.js';

export interface ResultsContext {
  /** Where the image came from: its path or URL, 'buffer', 'raw', 'tensor', or a video frame's name. */
  path: string;
  /** Class names by id (the model's). */
  names: readonly string[];
  /** The decoded pixels the boxes refer to (what `plot()` draws on); absent for tensor inputs. */
  image?: NativeImage;
  /** Frame index, for results of a video or stream. */
  frame?: number;
  /** Seconds from the start of the video, for results of a video or stream. */
  timestamp?: number;
}

const FORMAT_BY_EXTENSION: Readonly<Record<string, Exclude<OutputFormat, 'raw'>>> = {
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
  '.png': 'png',
  '.webp': 'webp',
  '.tif': 'tiff',
  '.tiff': 'tiff',
  '.gif': 'gif',
  '.avif': 'avif',
};

/** The encoder for a file name; names we cannot encode get ".png" appended rather than mismatched bytes. */
export function imageOutputPath(path: string): { path: string; format: Exclude<OutputFormat, 'raw'> } {
  const format = FORMAT_BY_EXTENSION[extname(path).toLowerCase()];
  return format ? { path, format } : { path: `${path}.png`, format: 'png' };
}

/**
 * One image's detections, shaped like Ultralytics' `Results`: `boxes.xyxy/xywh/xyxyn/xywhn/conf/cls`,
 * `origShape`, `path`, `names`, `speed`, `plot()`, `save()`, `saveTxt()`, `saveCrop()`.
 *
 * Its own enumerable fields are exactly the plain `DetectResult` (`detections`, `width`, `height`,
 * `speed`), so JSON, spreads and existing code see what they always saw; everything else is a getter.
 */
export class Results implements DetectResult {
  detections: Detection[];
  width: number;
  height: number;
  speed: Speed;
  /** With the `imageStats` option (drift monitoring); declared, not initialised, so plain results stay plain. */
  declare imageStats?: ImageStats;
  readonly #context: ResultsContext;

  constructor(result: DetectResult, context: ResultsContext) {
    this.detections = result.detections;
    this.width = result.width;
    this.height = result.height;
    this.speed = result.speed;
    if (result.imageStats !== undefined) this.imageStats = result.imageStats;
    this.#context = context;
  }

  get boxes(): Boxes {
    return new Boxes(this.detections, this.width, this.height);
  }

  /** [height, width], Ultralytics' `orig_shape`. */
  get origShape(): [number, number] {
    return [this.height, this.width];
  }

  get path(): string {
    return this.#context.path;
  }

  /** Class names by id, Ultralytics' `names` dict. */
  get names(): Readonly<Record<number, string>> {
    return Object.fromEntries(this.#context.names.map((n, i) => [i, n]));
  }

  /** Frame index within the video or stream (undefined for still images). */
  get frame(): number | undefined {
    return this.#context.frame;
  }

  /** Seconds from the start of the video or stream (undefined for still images). */
  get timestamp(): number | undefined {
    return this.#context.timestamp;
  }

  /** The same detections with another context (source path, frame), e.g. for video frames. */
  withContext(context: Partial<ResultsContext>): Results {
    return new Results(this, { ...this.#context, ...context });
  }

  /** The same image and context with other detections (e.g. the tracked ones). */
  withDetections(detections: Detection[]): Results {
    return new Results(
      {
        detections,
        width: this.width,
        height: this.height,
        speed: this.speed,
        ...(this.imageStats === undefined ? {} : { imageStats: this.imageStats }),
      },
      this.#context,
    );
  }

  /** The decoded pixels the boxes refer to, if kept. */
  get origImg(): NativeImage | undefined {
    return this.#context.image;
  }

  get length(): number {
    return this.detections.length;
  }

  /** The plain result, exactly the JSON yolo-trt has always produced. */
  toJSON(): DetectResult {
    return { detections: this.detections, width: this.width, height: this.height, speed: this.speed };
  }

  #image(image: NativeImage | undefined): NativeImage {
    const img = image ?? this.#context.image;
    if (img === undefined) {
      throw new YoloTrtError(
        'ERR_INVALID_OPTION',
        `Result for ${this.path} holds no image (tensor input): pass the image to draw on`,
        { details: { option: 'image' } },
      );
    }
    if (img.width !== this.width || img.height !== this.height) {
      throw new YoloTrtError(
        'ERR_INVALID_OPTION',
        `Expected a ${this.width}x${this.height} image for image but received ${img.width}x${img.height}`,
        { details: { option: 'image' } },
      );
    }
    return img;
  }

  /**
   * The image with boxes and labels drawn (Ultralytics' colours and sizes), encoded as PNG unless
   * `format` says otherwise ('raw' = packed RGB, width*height*3 bytes).
   */
  async plot(options: PlotOptions & { format?: OutputFormat; image?: NativeImage } = {}): Promise<Buffer> {
    return plotImage(this.#image(options.image), this.detections, options, options.format ?? 'png');
  }

  /**
   * Writes the annotated image (default `results_<name>` as Ultralytics names it); the encoder follows
   * the extension. Resolves to the path written.
   */
  async save(filename?: string, options: PlotOptions = {}): Promise<string> {
    const { path, format } = imageOutputPath(filename ?? `results_${basename(this.path)}`);
    const bytes = await plotImage(this.#image(undefined), this.detections, options, format);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes);
    return path;
  }

  /** Appends YOLO label lines (`cls xc yc w h [conf] [id]`, normalised) to `file`; none for no boxes. */
  async saveTxt(file: string, options: { saveConf?: boolean } = {}): Promise<void> {
    await appendLabels(file, this.detections, this.width, this.height, options.saveConf ?? false);
  }

  /** One JPEG per box in `dir/<class name>/<fileName>.jpg` (grown 2% + 10 px). Resolves to the files. */
  async saveCrop(dir: string, fileName?: string): Promise<string[]> {
    const stem = fileName ?? basename(this.path, extname(this.path));
    return saveCrops(this.#image(undefined), this.detections, dir, stem);
  }
}
