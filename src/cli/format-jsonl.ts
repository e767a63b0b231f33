import type { DetectResult } from '../results.js';

/**
 * One `--jsonl` line. The key order is part of the format (people diff these files and parse them with
 * line tools), so the object is built in that order explicitly rather than spread from the result. Numbers
 * are written as JavaScript prints them: boxes and scores are float32 values widened to double, never
 * rounded, so a line round-trips to exactly what `detect()` returned.
 */
export function formatJsonLine(
  image: string,
  result: DetectResult,
  video?: { frame: number; timestamp: number },
): string {
  return JSON.stringify({
    image,
    // Video frames: the frame index in the source and its time in seconds, right after the source.
    ...(video === undefined ? {} : { frame: video.frame, timestamp: video.timestamp }),
    width: result.width,
    height: result.height,
    detections: result.detections.map((d) => ({
      box: [d.box[0], d.box[1], d.box[2], d.box[3]],
      conf: d.conf,
      cls: d.cls,
      name: d.name,
      // Tracking: the persistent track id.
      ...(d.id === undefined ? {} : { id: d.id }),
    })),
    speed: {
      preprocess: result.speed.preprocess,
      inference: result.speed.inference,
      postprocess: result.speed.postprocess,
    },
  });
}
