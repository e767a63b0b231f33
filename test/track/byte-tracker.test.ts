// ByteTrack on synthetic sequences with known identities (crossing, occlusion, low-score frames the
// second association rescues), the assignment solver, and the Kalman filter.
import { describe, expect, it } from 'vitest';
import { ByteTracker, TRACKER_DEFAULTS, type Detection } from '../../dist/index.js';
import { assign } from '../../dist/track/assignment.js';
import { initiate, predict, toXyah, toXyxy, update } from '../../dist/track/kalman.js';

type Box = [number, number, number, number];
const det = (box: Box, conf = 0.9, cls = 0): Detection => ({ box, conf, cls, name: `c${cls}` });

function iou(a: readonly number[], b: readonly number[]): number {
  const iw = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const ih = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const i = iw * ih;
  return i / ((a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - i);
}

/**
 * Runs a sequence of frames (each: ground-truth objects with ids, boxes and scores; score 0 = not
 * detected) and counts identity switches: a ground-truth object whose matched track id changes.
 */
function runSequence(frames: { gt: number; box: Box; conf: number }[][], tracker = new ByteTracker()) {
  const lastId = new Map<number, number>();
  let switches = 0;
  const outputs: Map<number, number>[] = [];
  for (const objects of frames) {
    const dets = objects.filter((o) => o.conf > 0).map((o) => det(o.box, o.conf));
    const tracks = tracker.update(dets);
    const seen = new Map<number, number>();
    for (const o of objects) {
      const best = tracks.reduce<{ id: number; iou: number } | null>((acc, t) => {
        const v = iou(t.box, o.box);
        return v > 0.5 && (acc === null || v > acc.iou) ? { id: t.id!, iou: v } : acc;
      }, null);
      if (best === null) continue;
      seen.set(o.gt, best.id);
      const prev = lastId.get(o.gt);
      if (prev !== undefined && prev !== best.id) switches++;
      lastId.set(o.gt, best.id);
    }
    outputs.push(seen);
  }
  return { switches, outputs, ids: new Set(outputs.flatMap((m) => [...m.values()])) };
}

describe('assignment', () => {
  it('finds the minimum total cost, not the greedy one, and respects the limit', () => {
    expect(
      assign(
        [
          [0.1, 0.2],
          [0.15, 0.9],
        ],
        1,
      ).matches,
    ).toEqual([
      [0, 1],
      [1, 0],
    ]);
    const gated = assign(
      [
        [0.1, 0.9],
        [0.2, 0.85],
      ],
      0.8,
    );
    expect(gated.matches).toEqual([[0, 0]]);
    expect(gated.unmatchedRows).toEqual([1]);
    expect(gated.unmatchedCols).toEqual([1]);
    expect(assign([], 0.8)).toEqual({ matches: [], unmatchedRows: [], unmatchedCols: [] });
  });
});

describe('Kalman filter', () => {
  it('learns a constant velocity and predicts the next box', () => {
    let kf = initiate(toXyah([0, 0, 50, 100]));
    for (let f = 1; f <= 10; f++) {
      kf = predict(kf);
      kf = update(kf, toXyah([f * 10, 0, f * 10 + 50, 100]));
    }
    const next = toXyxy(predict(kf).mean);
    // Still converging after 10 frames: within 2 px of 110 / 160.
    expect(Math.abs(next[0] - 110)).toBeLessThan(2);
    expect(Math.abs(next[2] - 160)).toBeLessThan(2);
    expect(next[3] - next[1]).toBeCloseTo(100, 1);
  });
});

describe('ByteTrack identities', () => {
  it("uses Ultralytics' bytetrack.yaml defaults", () => {
    expect(TRACKER_DEFAULTS).toMatchObject({
      trackHighThresh: 0.25,
      trackLowThresh: 0.1,
      newTrackThresh: 0.25,
      trackBuffer: 30,
      matchThresh: 0.8,
      fuseScore: true,
    });
    expect(() => new ByteTracker({ matchThresh: 2 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION' }),
    );
  });

  it('keeps two crossing objects apart (0 ID switches)', () => {
    const frames = Array.from({ length: 40 }, (_, f) => [
      { gt: 1, box: [f * 8, 100, f * 8 + 50, 200] as Box, conf: 0.9 },
      { gt: 2, box: [312 - f * 8, 115, 362 - f * 8, 215] as Box, conf: 0.85 },
    ]);
    const r = runSequence(frames);
    expect(r.switches).toBe(0);
    expect(r.ids.size).toBe(2);
    expect(r.outputs.every((m) => m.size === 2)).toBe(true);
  });

  it('re-identifies an object after a brief occlusion (5 frames unseen)', () => {
    const frames = Array.from({ length: 30 }, (_, f) => [
      { gt: 1, box: [f * 6, 50, f * 6 + 40, 130] as Box, conf: f >= 12 && f < 17 ? 0 : 0.9 },
      { gt: 2, box: [400, 300, 460, 400] as Box, conf: 0.8 },
    ]);
    const r = runSequence(frames);
    expect(r.switches).toBe(0);
    expect(r.ids.size).toBe(2);
    expect(r.outputs[20]!.get(1)).toBe(r.outputs[5]!.get(1));
  });

  it('rescues low-score frames through the second association, which a high-score-only tracker drops', () => {
    const frames = Array.from({ length: 20 }, (_, f) => [
      { gt: 1, box: [f * 5, 50, f * 5 + 40, 130] as Box, conf: f >= 8 && f < 12 ? 0.15 : 0.9 },
    ]);
    const byte = runSequence(frames);
    expect(byte.switches).toBe(0);
    expect(byte.ids.size).toBe(1);
    // Frames 8..11 are output, with the same id, only because of the low-score association.
    expect([8, 9, 10, 11].map((f) => byte.outputs[f]!.get(1))).toEqual([1, 1, 1, 1]);
    const highOnly = runSequence(frames, new ByteTracker({ trackLowThresh: 0.2 }));
    expect([8, 9, 10, 11].map((f) => highOnly.outputs[f]!.get(1))).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('starts tracks only from confident detections, confirms them on their second frame, and forgets after the buffer', () => {
    const t = new ByteTracker();
    expect(t.update([det([0, 0, 10, 10], 0.9)]).map((d) => d.id)).toEqual([1]); // frame 1: confirmed at once
    expect(t.update([det([0, 0, 10, 10], 0.9), det([100, 100, 120, 120], 0.2)]).map((d) => d.id)).toEqual([
      1,
    ]);
    // A new confident object: unconfirmed on its first frame, output from its second.
    expect(t.update([det([0, 0, 10, 10], 0.9), det([200, 200, 220, 220], 0.9)]).map((d) => d.id)).toEqual([
      1,
    ]);
    expect(t.update([det([0, 0, 10, 10], 0.9), det([200, 200, 220, 220], 0.9)]).map((d) => d.id)).toEqual([
      1, 2,
    ]);
    for (let f = 0; f < 31; f++) t.update([det([200, 200, 220, 220], 0.9)]);
    // Object 1 was gone for more than track_buffer (30) frames: it comes back as a new track.
    t.update([det([0, 0, 10, 10], 0.9), det([200, 200, 220, 220], 0.9)]);
    const back = t.update([det([0, 0, 10, 10], 0.9), det([200, 200, 220, 220], 0.9)]);
    expect(back.map((d) => d.id)).toEqual([3, 2]);
  });
});
