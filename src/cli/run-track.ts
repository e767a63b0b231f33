import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Detector } from '../detector.js';
import { isYoloTrtError, YoloTrtError } from '../errors.js';
import type { BackendRequest } from '../options.js';
import type { TrackerOptions } from '../track/byte-tracker.js';
import { CliUsageError, EXIT_FAILURE, EXIT_OK, type CliContext } from './command.js';
import { formatSpeedLine, SpeedTotals } from './format-summary.js';
import { predictVideo } from './predict-video.js';
import { runDir } from './save-dir.js';
import type { TrackCliOptions } from './track.js';

/** bytetrack.yaml keys -> our option names. */
const YAML_KEYS: Readonly<Record<string, keyof TrackerOptions>> = {
  track_high_thresh: 'trackHighThresh',
  track_low_thresh: 'trackLowThresh',
  new_track_thresh: 'newTrackThresh',
  track_buffer: 'trackBuffer',
  match_thresh: 'matchThresh',
  fuse_score: 'fuseScore',
};

/** Reads an Ultralytics tracker yaml; only ByteTrack is implemented. */
export async function readTrackerYaml(file: string): Promise<TrackerOptions> {
  let doc: unknown;
  try {
    doc = parseYaml(await readFile(file, 'utf8'));
  } catch (err) {
    throw new CliUsageError(`--tracker ${file}: ${(err as Error).message}`, { cause: err });
  }
  const y = (doc ?? {}) as Record<string, unknown>;
  const type = y['tracker_type'];
  if (type !== undefined && type !== 'bytetrack')
    throw new CliUsageError(
      `--tracker ${file}: tracker_type '${String(type)}' is not supported (only bytetrack)`,
    );
  const out: Record<string, unknown> = {};
  for (const [k, name] of Object.entries(YAML_KEYS)) if (y[k] !== undefined) out[name] = y[k];
  return out as TrackerOptions;
}

/** `yolo-trt track`: ByteTrack over each source, one line per frame, optional annotated output. */
export async function runTrack(
  sources: string[],
  options: TrackCliOptions,
  ctx: CliContext,
): Promise<number> {
  const tracker: TrackerOptions = options.tracker !== undefined ? await readTrackerYaml(options.tracker) : {};
  for (const key of [
    'trackHighThresh',
    'trackLowThresh',
    'newTrackThresh',
    'trackBuffer',
    'matchThresh',
  ] as const)
    if (options[key] !== undefined) tracker[key] = options[key];
  if (options.fuseScore === false) tracker.fuseScore = false;

  const device = options.device;
  let backend = options.backend;
  if (device !== undefined) {
    const wanted = device === 'cpu' ? 'cpu' : 'tensorrt';
    if (backend !== 'auto' && backend !== wanted)
      throw new CliUsageError(`--device ${device} conflicts with --backend ${backend}`);
    backend = wanted;
  }
  const detector = await Detector.create({
    model: options.model,
    backend: backend as BackendRequest,
    tensorrt:
      device !== undefined && device !== 'cpu' ? { device: Number(device.replace(/^cuda:/, '')) } : undefined,
    iou: options.iou,
    maxDet: options.maxDet,
    classes: options.classes,
  });
  const toStdout = options.jsonl === '-';
  const info = toStdout ? ctx.stderr : ctx.stdout;
  const file = options.jsonl !== undefined && !toStdout ? createWriteStream(options.jsonl) : null;
  if (file !== null) await once(file, 'open');
  const sink = toStdout ? ctx.stdout : file;
  const writeJsonl =
    sink === null
      ? null
      : async (line: string) => {
          if (!sink.write(`${line}\n`)) await once(sink, 'drain');
        };
  let exitCode = EXIT_OK;
  const totals = new SpeedTotals();
  try {
    const saveImages = options.save !== undefined && options.save !== false;
    const saveDir =
      typeof options.save === 'string'
        ? options.save
        : saveImages || options.saveTxt === true
          ? await runDir(
              options.project ?? join('runs', 'detect'),
              options.name ?? 'track',
              options.existOk === true,
            )
          : null;
    for (const source of sources) {
      try {
        await predictVideo(
          detector.track(source, { ...tracker, conf: options.conf, vidStride: options.vidStride }),
          source,
          {
            writeJsonl,
            print: (line) => void ctx.stdout.write(`${line}\n`),
            saveDir,
            saveVideo: saveImages,
            saveTxt: options.saveTxt === true,
            saveConf: options.saveConf === true,
            saveCrop: false,
            plot: {
              lineWidth: options.lineWidth,
              labels: options.hideLabels !== true,
              conf: options.hideConf !== true,
            },
            onResult: (r) => totals.add(r.speed),
          },
        );
      } catch (err) {
        if (isYoloTrtError(err, 'ERR_INVALID_OPTION')) throw err;
        exitCode = EXIT_FAILURE;
        const code = err instanceof YoloTrtError ? err.code : 'ERR_INTERNAL';
        ctx.stderr.write(`error [${code}] ${source}: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    }
    if (totals.count > 0) info.write(`${formatSpeedLine(totals.mean(), 1, detector.model.imgsz)}\n`);
    if (saveDir !== null) info.write(`Results saved to ${saveDir}\n`);
  } finally {
    await detector.dispose();
    if (file !== null) {
      file.end();
      await once(file, 'close');
    }
  }
  return exitCode;
}
