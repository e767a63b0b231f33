import { describe, expect, it } from 'vitest';

import { engineHints, joinEngineFile, splitEngineFile } from '../../dist/model/engine-file.js';

const PLAN = Uint8Array.from([0x66, 0x74, 0x72, 0x74, 1, 2, 3, 4, 5, 6, 7, 8]);

/** Bytes exactly as Ultralytics writes them: int32 LE length, json.dumps(metadata), plan. */
function ultralyticsEngine(json: string, plan: Uint8Array): Uint8Array {
  const meta = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(4 + meta.length + plan.length);
  out.writeInt32LE(meta.length, 0);
  meta.copy(out, 4);
  out.set(plan, 4 + meta.length);
  return out;
}

describe('splitEngineFile', () => {
  it('splits an Ultralytics .engine into its JSON header and the plan', () => {
    const json =
      '{"description": "Ultralytics YOLO11n model", "stride": 32, "task": "detect", "batch": 1, "imgsz": [640, 640], "names": {"0": "person", "1": "bicycle"}, "half": true}';
    const file = splitEngineFile(ultralyticsEngine(json, PLAN));
    expect(file.kind).toBe('ultralytics');
    expect(file.metadata?.task).toBe('detect');
    expect([...file.plan]).toEqual([...PLAN]);
  });

  it('keeps a bare plan whole (no header)', () => {
    const file = splitEngineFile(PLAN);
    expect(file.kind).toBe('plan');
    expect(file.metadata).toBeNull();
    expect(file.plan.byteLength).toBe(PLAN.byteLength);
  });

  it('takes a length that does not fit, or a header that is not a JSON object, as a bare plan', () => {
    const tooLong = ultralyticsEngine('{"a": 1}', PLAN);
    Buffer.from(tooLong.buffer, tooLong.byteOffset).writeInt32LE(1000, 0);
    expect(splitEngineFile(tooLong).kind).toBe('plan');
    expect(splitEngineFile(ultralyticsEngine('{not json}', PLAN)).kind).toBe('plan');
    expect(splitEngineFile(ultralyticsEngine('[1, 2]', PLAN)).kind).toBe('plan');
    // header with no plan behind it
    expect(splitEngineFile(ultralyticsEngine('{"a": 1}', new Uint8Array(0))).kind).toBe('plan');
  });

  it('refuses an empty file with a coded error', () => {
    expect(() => splitEngineFile(new Uint8Array(0), 'x.engine')).toThrow(
      expect.objectContaining({ code: 'ERR_MODEL_INVALID' }),
    );
  });

  it('round-trips through joinEngineFile', () => {
    const meta = { task: 'detect', imgsz: [320, 480], names: { '0': 'a', '1': 'b' } };
    const file = splitEngineFile(joinEngineFile(meta, PLAN));
    expect(file.kind).toBe('ultralytics');
    expect(file.metadata).toEqual(meta);
    expect([...file.plan]).toEqual([...PLAN]);
  });
});

describe('engineHints', () => {
  it('reads names (dict with string int keys), imgsz, stride, batch and flags', () => {
    const hints = engineHints({
      names: { '1': 'bicycle', '0': 'person' },
      imgsz: [384, 640],
      stride: 32,
      batch: 4,
      task: 'detect',
      dynamic: true,
      half: false,
    });
    expect(hints).toEqual({
      names: ['person', 'bicycle'],
      imgsz: [384, 640],
      stride: 32,
      batch: 4,
      task: 'detect',
      dynamic: true,
      half: false,
    });
  });

  it('ignores names with gaps or odd keys, and malformed sizes', () => {
    expect(engineHints({ names: { '0': 'a', '2': 'c' } }).names).toBeUndefined();
    expect(engineHints({ names: { '0': 'a', '01': 'b' } }).names).toBeUndefined();
    expect(engineHints({ imgsz: [640, -1] }).imgsz).toBeUndefined();
    expect(engineHints({ imgsz: 320 }).imgsz).toEqual([320, 320]);
    expect(engineHints({ names: ['x', 'y'] }).names).toEqual(['x', 'y']);
  });
});
