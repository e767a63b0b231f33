import { invalidOption } from '../errors.js';
import type { Detection } from '../results.js';
import { assign } from './assignment.js';
import { initiate, predict, toXyah, toXyxy, update, type Gaussian } from './kalman.js';

/**
 * ByteTrack settings. Defaults are Ultralytics' `bytetrack.yaml` (ultralytics/cfg/trackers/bytetrack.yaml:
 * track_high_thresh 0.25, track_low_thresh 0.1, new_track_thresh 0.25, track_buffer 30, match_thresh 0.8,
 * fuse_score True), so `yolo track` users get the tracks they are used to.
 */
export interface TrackerOptions {
  /** Detections scoring at least this take part in the first association. */
  trackHighThresh?: number;
  /** Detections scoring above this (and below trackHighThresh) take part in the second association. */
  trackLowThresh?: number;
  /** An unmatched detection starts a new track only when scoring at least this. */
  newTrackThresh?: number;
  /** Frames a lost track is kept for re-identification (at 30 fps; scaled by frameRate). */
  trackBuffer?: number;
  /** First association: largest accepted cost (1 - IoU, fused with the score when fuseScore). */
  matchThresh?: number;
  /** Weigh the first association's IoU by the detection score. */
  fuseScore?: boolean;
  /** Source frame rate, for trackBuffer (default 30). */
  frameRate?: number;
}

export const TRACKER_DEFAULTS: Required<TrackerOptions> = {
  trackHighThresh: 0.25,
  trackLowThresh: 0.1,
  newTrackThresh: 0.25,
  trackBuffer: 30,
  matchThresh: 0.8,
  fuseScore: true,
  frameRate: 30,
};

export function resolveTrackerOptions(options: TrackerOptions = {}): Required<TrackerOptions> {
  const r = { ...TRACKER_DEFAULTS };
  for (const key of Object.keys(TRACKER_DEFAULTS) as (keyof TrackerOptions)[]) {
    const v = options[key];
    if (v === undefined) continue;
    if (key === 'fuseScore') {
      if (typeof v !== 'boolean') throw invalidOption(key, 'a boolean', v);
      r.fuseScore = v;
    } else if (key === 'trackBuffer' || key === 'frameRate') {
      if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v))
        throw invalidOption(key, 'a positive number', v);
      r[key] = v;
    } else {
      if (typeof v !== 'number' || !(v >= 0 && v <= 1))
        throw invalidOption(key, 'a number between 0 and 1', v);
      r[key] = v;
    }
  }
  return r;
}

type State = 'tracked' | 'lost' | 'removed';

class Track {
  id = 0;
  state: State = 'tracked';
  /** Confirmed: matched on two frames (or born on the first frame). Only confirmed tracks are output. */
  activated = false;
  kf: Gaussian;
  score: number;
  cls: number;
  name: string;
  startFrame = 0;
  endFrame = 0;
  /** Index of the detection matched on the current frame. */
  detIndex = -1;

  constructor(d: Detection, index: number) {
    this.kf = initiate(toXyah(d.box));
    this.score = d.conf;
    this.cls = d.cls;
    this.name = d.name;
    this.detIndex = index;
  }

  get box(): [number, number, number, number] {
    return toXyxy(this.kf.mean);
  }

  /** Takes a matched detection: Kalman correction, score and class from it. */
  take(d: Detection, index: number, frame: number): void {
    this.kf = update(this.kf, toXyah(d.box));
    this.score = d.conf;
    this.cls = d.cls;
    this.name = d.name;
    this.detIndex = index;
    this.state = 'tracked';
    this.activated = true;
    this.endFrame = frame;
  }
}

function iou(a: readonly number[], b: readonly number[]): number {
  const iw = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const ih = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const inter = iw * ih;
  return inter / ((a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - inter + 1e-7);
}

/** 1 - IoU between predicted track boxes and detections; with `fuse`, the IoU is weighted by the score. */
function costs(tracks: readonly Track[], dets: readonly Detection[], fuse: boolean): number[][] {
  return tracks.map((t) => {
    const tb = t.box;
    return dets.map((d) => 1 - iou(tb, d.box) * (fuse ? d.conf : 1));
  });
}

/**
 * ByteTrack (Zhang et al., "ByteTrack: Multi-Object Tracking by Associating Every Detection Box",
 * ECCV 2022), written from the paper: every frame, Kalman-predicted tracks are matched to the
 * high-score detections by IoU (Hungarian, gated), the tracks still unmatched are matched to the
 * low-score detections (which rescues objects whose score dips under occlusion or blur instead of
 * discarding those boxes), unconfirmed tracks get one chance against the remaining high-score
 * detections, remaining high-score detections start tracks, and tracks lost for longer than the buffer
 * are dropped. Output boxes are the Kalman-corrected states, as Ultralytics returns them.
 */
export class ByteTracker {
  readonly options: Required<TrackerOptions>;
  #tracked: Track[] = [];
  #lost: Track[] = [];
  #frame = 0;
  #nextId = 1;

  constructor(options: TrackerOptions = {}) {
    this.options = resolveTrackerOptions(options);
  }

  /** Forgets every track and restarts ids at 1 (a new video). */
  reset(): void {
    this.#tracked = [];
    this.#lost = [];
    this.#frame = 0;
    this.#nextId = 1;
  }

  /** One frame's detections in; the confirmed tracks matched on this frame out, with `id`, in detection order. */
  update(detections: readonly Detection[]): Detection[] {
    const o = this.options;
    const frame = ++this.#frame;
    const maxLost = Math.trunc((o.frameRate / 30) * o.trackBuffer);
    const highIdx: number[] = [];
    const lowIdx: number[] = [];
    detections.forEach((d, i) => {
      if (d.conf >= o.trackHighThresh) highIdx.push(i);
      else if (d.conf > o.trackLowThresh) lowIdx.push(i);
    });
    const high = highIdx.map((i) => detections[i]!);
    const low = lowIdx.map((i) => detections[i]!);

    const unconfirmed = this.#tracked.filter((t) => !t.activated);
    const confirmed = this.#tracked.filter((t) => t.activated);
    const pool = [...confirmed, ...this.#lost];
    for (const t of pool) {
      // A lost track's height velocity is frozen so its box does not drift while unseen.
      if (t.state !== 'tracked') t.kf.mean[7] = 0;
      t.kf = predict(t.kf);
    }
    for (const t of unconfirmed) t.kf = predict(t.kf);

    const now: Track[] = [];
    const lostNow: Track[] = [];
    // 1st association: all tracks (tracked and lost) vs high-score detections.
    const first = assign(costs(pool, high, o.fuseScore), o.matchThresh, high.length);
    for (const [ti, di] of first.matches) {
      pool[ti]!.take(high[di]!, highIdx[di]!, frame);
      now.push(pool[ti]!);
    }
    // 2nd association: tracks still unmatched (only those tracked last frame) vs low-score detections.
    const rest = first.unmatchedRows.map((i) => pool[i]!).filter((t) => t.state === 'tracked');
    const second = assign(costs(rest, low, false), 0.5, low.length);
    for (const [ti, di] of second.matches) {
      rest[ti]!.take(low[di]!, lowIdx[di]!, frame);
      now.push(rest[ti]!);
    }
    for (const ti of second.unmatchedRows) {
      const t = rest[ti]!;
      t.state = 'lost';
      lostNow.push(t);
    }
    // Unconfirmed tracks (born last frame) vs the high-score detections left over.
    const leftHigh = first.unmatchedCols;
    const third = assign(
      costs(
        unconfirmed,
        leftHigh.map((k) => high[k]!),
        o.fuseScore,
      ),
      0.7,
      leftHigh.length,
    );
    for (const [ti, k] of third.matches) {
      unconfirmed[ti]!.take(high[leftHigh[k]!]!, highIdx[leftHigh[k]!]!, frame);
      now.push(unconfirmed[ti]!);
    }
    for (const ti of third.unmatchedRows) unconfirmed[ti]!.state = 'removed';
    // New tracks from confident unmatched detections; confirmed at once only on the first frame.
    for (const k of third.unmatchedCols) {
      const di = leftHigh[k]!;
      const d = high[di]!;
      if (d.conf < o.newTrackThresh) continue;
      const t = new Track(d, highIdx[di]!);
      t.id = this.#nextId++;
      t.startFrame = frame;
      t.endFrame = frame;
      t.activated = frame === 1;
      now.push(t);
    }
    // Lost tracks past the buffer are dropped.
    const stillLost = [...this.#lost.filter((t) => t.state === 'lost'), ...lostNow].filter((t) => {
      if (frame - t.endFrame > maxLost) {
        t.state = 'removed';
        return false;
      }
      return true;
    });
    this.#tracked = now.filter((t) => t.state === 'tracked');
    this.#lost = stillLost.filter((t) => !this.#tracked.includes(t));
    this.#dedupe();
    return this.#tracked
      .filter((t) => t.activated && t.endFrame === frame)
      .sort((a, b) => a.detIndex - b.detIndex)
      .map((t) => {
        const d = detections[t.detIndex]!;
        return { box: t.box, conf: t.score, cls: t.cls, name: t.name ?? d.name, id: t.id };
      });
  }

  /** A tracked and a lost track on the same spot (IoU > 0.85): keep the one followed longer. */
  #dedupe(): void {
    const dropTracked = new Set<Track>();
    const dropLost = new Set<Track>();
    for (const a of this.#tracked)
      for (const b of this.#lost) {
        if (1 - iou(a.box, b.box) >= 0.15) continue;
        if (a.endFrame - a.startFrame > b.endFrame - b.startFrame) dropLost.add(b);
        else dropTracked.add(a);
      }
    this.#tracked = this.#tracked.filter((t) => !dropTracked.has(t));
    this.#lost = this.#lost.filter((t) => !dropLost.has(t));
  }
}
