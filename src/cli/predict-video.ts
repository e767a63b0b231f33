import { basename, extname, join } from 'node:path';
import type { Results } from '../results/results.js';
import { plotImage, type PlotOptions } from '../results/plot.js';
import { VideoWriter } from '../sources/video-writer.js';
import { formatJsonLine } from './format-jsonl.js';
import { formatCounts } from './format-summary.js';

export interface VideoPredictOptions {
  vidStride?: number;
  /** Writes one JSON line (with "frame"), or null for the human summary. */
  writeJsonl: ((line: string) => Promise<void>) | null;
  /** Where human lines go. */
  print: (line: string) => void;
  /** Run folder for --save/--save-txt/--save-crop, or null. */
  saveDir: string | null;
  saveVideo: boolean;
  saveTxt: boolean;
  saveConf: boolean;
  saveCrop: boolean;
  plot: PlotOptions;
  /** Called with each frame's result (speed totals). */
  onResult: (r: Results) => void;
}

/** A still image among the results (track on images): its line, annotated copy, labels and crops. */
async function emitImage(r: Results, o: VideoPredictOptions): Promise<void> {
  if (o.writeJsonl !== null) await o.writeJsonl(formatJsonLine(r.path, r));
  else {
    const counts = r.detections.length > 0 ? formatCounts(r.detections) : '(no detections)';
    o.print(`image ${r.path}: ${r.width}x${r.height} ${counts}, ${r.speed.inference.toFixed(1)}ms`);
  }
  if (o.saveDir === null) return;
  const stem = basename(r.path, extname(r.path));
  if (o.saveVideo) await r.save(join(o.saveDir, basename(r.path)), o.plot);
  if (o.saveTxt) await r.saveTxt(join(o.saveDir, 'labels', `${stem}.txt`), { saveConf: o.saveConf });
  if (o.saveCrop) await r.saveCrop(join(o.saveDir, 'crops'), stem);
}

/**
 * One video, stream or webcam (results of `detector.stream()` or `track()`): a line per frame (JSONL with "frame", or the
 * Ultralytics-style summary), and with --save an annotated .mp4 of the frames used; labels and crops
 * are named `<stem>_<frame>` as Ultralytics names them. Errors propagate (the caller reports them).
 */
export async function predictVideo(
  results: AsyncIterable<Results>,
  source: string,
  o: VideoPredictOptions,
): Promise<number> {
  const stem = basename(source, extname(source)).replace(/[^\w.-]+/g, '_') || 'stream';
  let writer: VideoWriter | null = null;
  // The first annotated frame waits for the second: their time difference is the output frame rate.
  let pending: { rgb: Buffer; width: number; height: number; timestamp: number } | null = null;
  let frames = 0;
  const out = o.saveDir === null ? '' : join(o.saveDir, `${stem}.mp4`);
  try {
    for await (const r of results) {
      frames++;
      o.onResult(r);
      if (r.frame === undefined) {
        await emitImage(r, o);
        continue;
      }
      const frame = r.frame ?? 0;
      if (o.writeJsonl !== null) {
        await o.writeJsonl(formatJsonLine(source, r, { frame, timestamp: r.timestamp ?? 0 }));
      } else {
        const counts = r.detections.length > 0 ? formatCounts(r.detections) : '(no detections)';
        o.print(
          `video (frame ${frame}) ${source}: ${r.width}x${r.height} ${counts}, ${r.speed.inference.toFixed(1)}ms`,
        );
      }
      if (o.saveDir !== null) {
        if (o.saveVideo) {
          const rgb = await plotImage(r.origImg!, r.detections, o.plot, 'raw');
          const timestamp = r.timestamp ?? 0;
          if (writer === null && pending === null) {
            pending = { rgb, width: r.width, height: r.height, timestamp };
          } else {
            if (writer === null && pending !== null) {
              const dt = timestamp - pending.timestamp;
              writer = VideoWriter.open(out, pending.width, pending.height, dt > 0 ? 1 / dt : 30);
              await writer.write(pending.rgb);
              pending = null;
            }
            await writer!.write(rgb);
          }
        }
        if (o.saveTxt)
          await r.saveTxt(join(o.saveDir, 'labels', `${stem}_${frame}.txt`), { saveConf: o.saveConf });
        if (o.saveCrop) await r.saveCrop(join(o.saveDir, 'crops'), `${stem}_${frame}`);
      }
    }
    if (pending !== null) {
      writer = VideoWriter.open(out, pending.width, pending.height, 30);
      await writer.write(pending.rgb);
    }
  } finally {
    await writer?.close();
  }
  return frames;
}
