import type { Command } from 'commander';
import type { CliContext } from './command.js';
import { parseClassList, parseDevice, parseNumber, parsePositiveInt } from './predict.js';

/** Parsed `track` options. */
export interface TrackCliOptions {
  model: string;
  conf?: number;
  iou?: number;
  maxDet?: number;
  classes?: number[];
  backend: string;
  device?: string;
  vidStride?: number;
  jsonl?: string;
  save?: string | boolean;
  saveTxt?: boolean;
  saveConf?: boolean;
  project?: string;
  name?: string;
  existOk?: boolean;
  lineWidth?: number;
  hideLabels?: boolean;
  hideConf?: boolean;
  tracker?: string;
  trackHighThresh?: number;
  trackLowThresh?: number;
  newTrackThresh?: number;
  trackBuffer?: number;
  matchThresh?: number;
  fuseScore?: boolean;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('track')
    .description(
      'Track objects across video frames with ByteTrack: persistent ids in the summary, JSON lines and annotations.',
    )
    .argument(
      '<sources...>',
      'video files, stream URLs, webcams (0), or images / folders / globs tracked as consecutive frames',
    )
    .requiredOption('-m, --model <path>', 'YOLO detect model (.onnx export or .engine)')
    .option(
      '--conf <number>',
      'detection confidence threshold (default 0.1, as Ultralytics tracks)',
      parseNumber,
    )
    .option('--iou <number>', 'NMS IoU threshold (default 0.7)', parseNumber)
    .option('--max-det <number>', 'maximum detections per frame (default 300)', parseNumber)
    .option('--classes <ids>', 'keep only these class ids, comma-separated', parseClassList)
    .option('--backend <name>', 'auto | cpu | tensorrt', 'auto')
    .option('--device <id>', "GPU index (TensorRT) or 'cpu'", parseDevice)
    .option('--vid-stride <n>', 'use every n-th video frame (default 1)', parsePositiveInt)
    .option('--jsonl <file>', 'one JSON line per frame, detections with "id" ("-" = stdout)')
    .option(
      '--save [dir]',
      'annotated video/images with track ids into DIR, or runs/detect/track, track2, ...',
    )
    .option('--save-txt', 'label files (cls xc yc w h [conf] id) per frame into <run>/labels/')
    .option('--save-conf', 'with --save-txt: include the score')
    .option('--project <dir>', 'parent of the run folder (default runs/detect)')
    .option('--name <name>', 'run folder name (default track)')
    .option('--exist-ok', 'reuse project/name instead of incrementing it')
    .option('--line-width <px>', 'box line width (default from the image size)', parsePositiveInt)
    .option('--hide-labels', 'draw boxes without labels')
    .option('--hide-conf', 'labels without scores')
    .option('--tracker <yaml>', 'a bytetrack.yaml-style file (tracker_type: bytetrack and its keys)')
    .option('--track-high-thresh <number>', 'first-association score threshold (default 0.25)', parseNumber)
    .option('--track-low-thresh <number>', 'second-association score threshold (default 0.1)', parseNumber)
    .option('--new-track-thresh <number>', 'score to start a track (default 0.25)', parseNumber)
    .option('--track-buffer <frames>', 'frames a lost track is remembered (default 30)', parseNumber)
    .option('--match-thresh <number>', 'first-association cost limit, 1 - IoU (default 0.8)', parseNumber)
    .option('--no-fuse-score', 'do not weigh IoU by detection score in the first association')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  $ yolo-trt track clip.mp4 --model yolo11n.onnx --jsonl tracks.jsonl --save',
        '  $ yolo-trt track rtsp://cam/stream --model yolo11n.onnx --classes 0 --jsonl -',
        '  $ yolo-trt track model=yolo11n.onnx source=clip.mp4 tracker=bytetrack.yaml   (Ultralytics form)',
        '',
        "Defaults are Ultralytics' bytetrack.yaml. Exit code: 0 done, 1 a source failed, 2 bad usage.",
      ].join('\n'),
    )
    .action(async (sources: string[], options: TrackCliOptions) => {
      const { runTrack } = await import('./run-track.js');
      ctx.fail(await runTrack(sources, options, ctx));
    });
}
