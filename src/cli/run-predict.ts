import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { once } from 'node:events';
import { basename, dirname, extname, join } from 'node:path';
import { Detector, decodeImage, isYoloTrtError, YoloTrtError } from '../index.js';
import type { BackendRequest, DecodedImage } from '../index.js';
import type { Results } from '../results/results.js';
import type { PlotOptions } from '../results/plot.js';
import { expandPaths } from '../sources/iterate.js';
import { sourceKind } from '../sources/kind.js';
import { fetchBytes } from '../sources/url.js';
import { saveAnnotated } from './annotate.js';
import { CliUsageError } from './command.js';
import { predictVideo } from './predict-video.js';
import { runDir } from './save-dir.js';
import { EXIT_FAILURE, EXIT_OK, type CliContext } from './command.js';
import { formatJsonLine } from './format-jsonl.js';
import { formatImageLine, formatSpeedLine, SpeedTotals } from './format-summary.js';
import type { PredictOptions } from './predict.js';
import { createProgress, type Progress } from './progress.js';
import { walkImages } from './walk-images.js';

type Stream = NodeJS.WritableStream & { isTTY?: boolean };

/** Library option names -> the flags that set them, so a refused value is reported by its flag. */
const FLAG_OF_OPTION: Readonly<Record<string, string>> = {
  model: '--model',
  backend: '--backend',
  conf: '--conf',
  iou: '--iou',
  maxDet: '--max-det',
  classes: '--classes',
  agnostic: '--agnostic',
  imgsz: '--imgsz',
};

/** Re-labels the library's ERR_INVALID_OPTION with the flag the user typed (main() exits 2 on it). */
function withFlagName(err: unknown): unknown {
  if (!isYoloTrtError(err, 'ERR_INVALID_OPTION')) return err;
  const option = err.details?.['option'];
  const flag = typeof option === 'string' ? FLAG_OF_OPTION[option] : undefined;
  if (flag === undefined) return err;
  return new YoloTrtError('ERR_INVALID_OPTION', `${flag}: ${err.message}`, {
    cause: err,
    details: { ...err.details, flag },
  });
}

function errorCode(err: unknown): string {
  if (err instanceof YoloTrtError) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'ERR_INTERNAL';
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

type Decoded = { path: string; ok: true; image: DecodedImage } | { path: string; ok: false; error: unknown };

/** Decodes one batch; never rejects (a bad file becomes an error entry). */
function decodeBatch(paths: readonly string[], limitInputPixels: number | undefined): Promise<Decoded[]> {
  return Promise.all(
    paths.map((path) =>
      // http(s) image URLs are downloaded (size, time and redirects bounded), then decoded like files.
      (sourceKind(path) === 'image-url' ? fetchBytes(path) : Promise.resolve(path))
        .then((input) => decodeImage(input, { limitInputPixels }))
        .then(
          (image): Decoded => ({ path, ok: true, image }),
          (error: unknown): Decoded => ({ path, ok: false, error }),
        ),
    ),
  );
}

/** Where --jsonl lines go: a file, or stdout for "-". Honours back-pressure so huge runs stay small. */
class JsonlSink {
  readonly #stream: Stream;
  readonly #file: WriteStream | null;

  private constructor(stream: Stream, file: WriteStream | null) {
    this.#stream = stream;
    this.#file = file;
  }

  static async open(target: string, stdout: Stream): Promise<JsonlSink> {
    if (target === '-') return new JsonlSink(stdout, null);
    const file = createWriteStream(target);
    try {
      await once(file, 'open'); // surfaces EACCES/ENOENT now, before any work
    } catch (err) {
      throw outputPathError('--jsonl', target, err);
    }
    return new JsonlSink(file, file);
  }

  async write(line: string): Promise<void> {
    if (!this.#stream.write(`${line}\n`)) await once(this.#stream, 'drain');
  }

  async close(): Promise<void> {
    const file = this.#file;
    if (file === null) return;
    await new Promise<void>((resolve, reject) => {
      file.once('error', reject);
      file.end(resolve);
    });
  }
}

/** A coded one-line error for an output path that cannot be written (no stack: it is the user's path). */
function outputPathError(flag: string, target: string, err: unknown): CliUsageError {
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT'
      ? `the folder ${dirname(target)} does not exist (create it first)`
      : code === 'EEXIST' || code === 'ENOTDIR'
        ? flag === '--save'
          ? 'it is a file, and --save takes a folder for the annotated copies'
          : `a part of the path is a file, not a folder`
        : code === 'EISDIR'
          ? 'it is a folder, and --jsonl takes a file name (or - for stdout)'
          : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
            ? 'no permission to write there'
            : ((err as Error).message ?? String(err));
  return new CliUsageError(`${flag} ${target}: ${why}`, { code: 'ERR_OUTPUT_PATH', cause: err });
}

/**
 * Annotated copies keep the image's file name; two inputs with the same name (from different folders)
 * would overwrite each other, so later ones get "-2", "-3"... before the extension.
 */
class SaveNames {
  readonly #used = new Map<string, number>();
  constructor(readonly dir: string) {}

  next(imagePath: string): string {
    const name = basename(imagePath);
    const n = (this.#used.get(name) ?? 0) + 1;
    this.#used.set(name, n);
    if (n === 1) return join(this.dir, name);
    const ext = extname(name);
    return join(this.dir, `${name.slice(0, name.length - ext.length)}-${n}${ext}`);
  }
}

/**
 * `yolo-trt predict`: walks the sources, then runs batches through the detector with decoding of batch
 * k+1 overlapping inference of batch k and annotated copies of batch k written during batch k+1. Results
 * are printed in input order. Resolves to the exit code.
 */
export async function runPredict(
  sources: string[],
  options: PredictOptions,
  ctx: CliContext,
): Promise<number> {
  // `--save bus.jpg` (an optional-value flag before a source) means "save", not "save into bus.jpg".
  if (typeof options.save === 'string' && sourceKind(options.save) !== 'path') {
    sources = [options.save, ...sources];
    options = { ...options, save: true };
  } else if (
    typeof options.save === 'string' &&
    /\.(jpe?g|png|webp|bmp|tiff?|gif|avif)$/i.test(options.save)
  ) {
    sources = [options.save, ...sources];
    options = { ...options, save: true };
  }
  // --device N: TensorRT on GPU N; --device cpu: onnxruntime. --half: an FP16 engine.
  const device = options.device;
  let backend = options.backend;
  if (device !== undefined) {
    const wanted = device === 'cpu' ? 'cpu' : 'tensorrt';
    if (backend !== 'auto' && backend !== wanted)
      throw new CliUsageError(`--device ${device} conflicts with --backend ${backend}`);
    backend = wanted;
  }
  const tensorrt =
    (device !== undefined && device !== 'cpu') || options.half === true
      ? {
          ...(device !== undefined && device !== 'cpu'
            ? { device: Number(device.replace(/^cuda:/, '')) }
            : {}),
          ...(options.half === true ? { precision: 'fp16' as const } : {}),
        }
      : undefined;
  if (options.half === true && backend === 'cpu')
    throw new CliUsageError('--half needs TensorRT (a GPU); the CPU backend runs the model as exported');
  let detector: Detector;
  try {
    detector = await Detector.create({
      model: options.model,
      backend: backend as BackendRequest,
      imgsz: options.imgsz,
      tensorrt,
      conf: options.conf,
      iou: options.iou,
      maxDet: options.maxDet,
      classes: options.classes,
      agnostic: options.agnostic,
    });
  } catch (err) {
    throw withFlagName(err);
  }
  try {
    return await predictWith(detector, sources, options, ctx);
  } finally {
    await detector.dispose();
  }
}

async function predictWith(
  detector: Detector,
  sources: string[],
  options: PredictOptions,
  ctx: CliContext,
): Promise<number> {
  const jsonlToStdout = options.jsonl === '-';
  // With `--jsonl -` stdout carries JSON lines only; everything human goes to stderr.
  const info: Stream = jsonlToStdout ? ctx.stderr : ctx.stdout;
  let exitCode = EXIT_OK;

  // Videos, streams and webcams go frame by frame after the images; globs expand to both.
  const videos: string[] = [];
  const urls: string[] = [];
  const paths: string[] = [];
  for (const source of sources) {
    const kind = sourceKind(source);
    if (kind === 'video' || kind === 'stream' || kind === 'webcam') videos.push(source);
    else if (kind === 'image-url') urls.push(source);
    else if (kind === 'glob') {
      const found = await expandPaths(source);
      if (found.images.length + found.videos.length === 0) {
        ctx.stderr.write(`error [ERR_IMAGE_NOT_FOUND] ${source}: no file matches\n`);
        exitCode = EXIT_FAILURE;
      }
      paths.push(...found.images);
      videos.push(...found.videos);
    } else paths.push(source);
  }
  const walked = paths.length > 0 ? await walkImages(paths) : { images: [], problems: [] };
  for (const p of walked.problems) ctx.stderr.write(`error [${p.code}] ${p.path}: ${p.message}\n`);
  if (walked.problems.length > 0) exitCode = EXIT_FAILURE;
  const images = [...walked.images, ...urls];
  if (images.length === 0 && videos.length === 0) {
    ctx.stderr.write(`error: no images found in ${sources.join(' ')}\n`);
    return EXIT_FAILURE;
  }

  const ignored = detector.model.ignoredOptions.filter((o) =>
    o === 'iou' ? options.iou !== undefined : options.agnostic !== undefined,
  );
  if (ignored.length > 0) {
    info.write(
      `note: ${basename(detector.model.path)} is an end-to-end model (no NMS): ${ignored.map((o) => `--${o}`).join(' and ')} ${ignored.length > 1 ? 'have' : 'has'} no effect\n`,
    );
  }

  const sink = options.jsonl === undefined ? null : await JsonlSink.open(options.jsonl, ctx.stdout);
  // --save DIR writes there; --save, --save-txt or --save-crop alone use the next runs/detect/predictN.
  const saveImages = options.save !== undefined && options.save !== false;
  const saveDir =
    typeof options.save === 'string'
      ? options.save
      : saveImages || options.saveTxt === true || options.saveCrop === true
        ? await runDir(
            options.project ?? join('runs', 'detect'),
            options.name ?? 'predict',
            options.existOk === true,
          )
        : null;
  if (saveDir !== null) {
    try {
      await mkdir(saveDir, { recursive: true });
    } catch (err) {
      throw outputPathError('--save', saveDir, err);
    }
  }
  const saveNames = saveImages && saveDir !== null ? new SaveNames(saveDir) : null;
  const plot: PlotOptions = {
    lineWidth: options.lineWidth,
    labels: options.hideLabels !== true,
    conf: options.hideConf !== true,
  };

  // Two runs' worth per worker: the library letterboxes run k+1 while run k infers inside one call, and
  // the stall at each call boundary (the last run's results travel back before the next call starts)
  // is paid once per batch instead of once per image.
  const batchSize = options.batch ?? Math.max(4, 2 * detector.maxBatch * detector.concurrency);
  const inputSize = detector.model.imgsz;
  const totals = new SpeedTotals();
  const progress: Progress = createProgress(ctx.stderr, images.length, !jsonlToStdout);
  let index = 0;
  let saving: Promise<boolean[]> = Promise.resolve([]);

  const reportFailure = (path: string, err: unknown): void => {
    exitCode = EXIT_FAILURE;
    progress.print(ctx.stderr, `error [${errorCode(err)}] ${path}: ${errorMessage(err)}`);
  };

  const emit = async (path: string, image: DecodedImage, result: Results, saves: Promise<boolean>[]) => {
    totals.add(result.speed);
    if (sink !== null) await sink.write(formatJsonLine(path, result));
    else
      progress.print(
        ctx.stdout,
        formatImageLine(index, images.length, path, inputSize, result.detections, result.speed),
      );
    if (saveNames !== null) {
      const out = saveNames.next(path);
      saves.push(
        saveAnnotated(image, result.detections, out, plot).then(
          () => true,
          (err: unknown) => {
            reportFailure(
              path,
              new YoloTrtError('ERR_INTERNAL', `could not write ${out}: ${errorMessage(err)}`),
            );
            return false;
          },
        ),
      );
    }
  };

  // Label files and crops are named by the image's stem, as Ultralytics names them.
  const saveExtras = async (path: string, result: Results): Promise<void> => {
    if (saveDir === null) return;
    const stem = basename(path, extname(path));
    try {
      if (options.saveTxt === true)
        await result.saveTxt(join(saveDir, 'labels', `${stem}.txt`), { saveConf: options.saveConf === true });
      if (options.saveCrop === true) await result.saveCrop(join(saveDir, 'crops'), stem);
    } catch (err) {
      reportFailure(
        path,
        new YoloTrtError('ERR_INTERNAL', `could not write labels/crops: ${errorMessage(err)}`),
      );
    }
  };

  try {
    const batches: string[][] = [];
    for (let i = 0; i < images.length; i += batchSize) batches.push(images.slice(i, i + batchSize));
    let nextDecode: Promise<Decoded[]> | null = decodeBatch(batches[0] ?? [], undefined);
    for (let b = 0; nextDecode !== null; b++) {
      const decoded: Decoded[] = await nextDecode;
      // Start decoding the next batch now, so it overlaps this batch's inference.
      nextDecode = b + 1 < batches.length ? decodeBatch(batches[b + 1] ?? [], undefined) : null;
      const good = decoded.flatMap((d) => (d.ok ? [d] : []));
      const settled = good.length > 0 ? await detector.detectBatchSettled(good.map((d) => d.image)) : [];
      await saving; // bound the annotated copies in flight to one batch
      const saves: Promise<boolean>[] = [];
      let k = 0;
      for (const d of decoded) {
        index += 1;
        if (!d.ok) {
          reportFailure(d.path, d.error);
        } else {
          const s = settled[k++];
          if (s === undefined)
            reportFailure(d.path, new YoloTrtError('ERR_INTERNAL', 'no result for this image'));
          else if (!s.ok) reportFailure(d.path, s.error);
          else {
            await emit(d.path, d.image, s.result, saves);
            await saveExtras(d.path, s.result);
          }
        }
        progress.tick();
      }
      saving = Promise.all(saves);
    }
    await saving;
    for (const video of videos) {
      try {
        await predictVideo(detector.stream(video, { vidStride: options.vidStride }), video, {
          vidStride: options.vidStride,
          writeJsonl: sink === null ? null : (line) => sink.write(line),
          print: (line) => progress.print(ctx.stdout, line),
          saveDir,
          saveVideo: saveImages,
          saveTxt: options.saveTxt === true,
          saveConf: options.saveConf === true,
          saveCrop: options.saveCrop === true,
          plot,
          onResult: (r) => totals.add(r.speed),
        });
      } catch (err) {
        reportFailure(video, err);
      }
    }
  } finally {
    progress.stop();
    await sink?.close();
  }

  if (totals.count > 0)
    info.write(`${formatSpeedLine(totals.mean(), Math.min(batchSize, detector.maxBatch), inputSize)}\n`);
  if (sink !== null && !jsonlToStdout)
    info.write(`${totals.count} result lines written to ${options.jsonl}\n`);
  if (saveDir !== null) info.write(`Results saved to ${saveDir}\n`);
  return exitCode;
}
