// Small, valid ONNX "detect" models built in the tests (protobufjs encode), whose output is a constant
// [B, 4 + nc, N] tensor of our choosing: the detections they produce are known exactly.
//
// Graph (opset 13), every op one that onnxruntime runs on CPU:
//   x      = images                  (Cast to float first for fp16 inputs)
//   m      = ReduceMean(x, axes=[1,2,3], keepdims=1)     [B,1,1,1]
//   r      = Reshape(m, [-1, 1, 1])                      [B,1,1]
//   z      = Mul(r, 0)                                    [B,1,1]  (ties the output to the input)
//   output = Add(z, head)                                 [B,C,N]  head is an initializer [1,C,N]
// The segment variant adds protos = Add(Mul(m, 0), zeros[1,32,H/4,W/4]).
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import protobuf from 'protobufjs';
import { onnxSchemaJson } from '../../dist/model/onnx-schema.js';

export interface SyntheticDetection {
  /** Anchor index (0 .. N-1). */
  anchor: number;
  /** cx, cy, w, h in network-input pixels. */
  box: [number, number, number, number];
  /** One score per class. */
  scores: number[];
}

export interface SyntheticModelSpec {
  /** Network input width and height (imgsz = [height, width]). */
  width: number;
  height: number;
  nc: number;
  /** Fixed batch size, or 'dynamic' (dim_param 'batch'). Default 1. */
  batch?: number | 'dynamic';
  /** Input H/W as dim_params instead of numbers. */
  dynamicHW?: boolean;
  detections?: SyntheticDetection[];
  /** Metadata to write; null writes none. Default: Ultralytics-like task/stride/batch/imgsz/names. */
  metadata?: Record<string, string> | null;
  /** Overrides merged into the default metadata. */
  extraMetadata?: Record<string, string>;
  names?: string[];
  inputType?: 'float32' | 'float16';
  outputType?: 'float32' | 'float16';
  /** Number of anchors in the head (default: the right one for the imgsz); set it wrong on purpose. */
  anchors?: number;
  /** Add a second output [B, 32, H/4, W/4] like a segment export. */
  protos?: boolean;
  /** Replace the Mul by an op no runtime knows: onnxruntime refuses the model at load. */
  unknownOp?: boolean;
  irVersion?: number;
  /** Declare the output dims as these (strings are dim_params) instead of the real ones. */
  declaredOutputDims?: (number | string)[];
  /**
   * An end-to-end head instead of the classic one: the output is [B, k, rowLength] (default k 300,
   * rowLength 6), every image gets these rows first and zeros after them.
   */
  endToEnd?: { rows: readonly (readonly number[])[]; k?: number; rowLength?: number };
}

/** Anchors for stride 8/16/32 levels. */
export function anchorsFor(width: number, height: number): number {
  let n = 0;
  for (const s of [8, 16, 32]) n += Math.ceil(width / s) * Math.ceil(height / s);
  return n;
}

/** Python's repr() of a printable string: single quotes unless it contains ' and no ". */
export function pythonRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  const body = s
    .replace(/\\/g, '\\\\')
    .replace(/\n/g, '\\n')
    .replace(/\t/g, '\\t')
    .replace(quote === "'" ? /'/g : /"/g, `\\${quote}`);
  return quote + body + quote;
}

/** Ultralytics-style Python dict literal of names, as str(dict) writes it. */
export function pythonNames(names: readonly string[]): string {
  return `{${names.map((n, i) => `${i}: ${pythonRepr(n)}`).join(', ')}}`;
}

let root: protobuf.Root | undefined;

/** The read schema of src/model/onnx-schema.ts plus the fields needed to write nodes and initializers. */
function writeRoot(): protobuf.Root {
  if (root) return root;
  const json = structuredClone(onnxSchemaJson) as unknown as {
    nested: { onnx: { nested: Record<string, { fields: Record<string, unknown> }> } };
  };
  const onnx = json.nested.onnx.nested;
  onnx['GraphProto']!.fields['node'] = { rule: 'repeated', type: 'NodeProto', id: 1 };
  onnx['NodeProto'] = {
    fields: {
      input: { rule: 'repeated', type: 'string', id: 1 },
      output: { rule: 'repeated', type: 'string', id: 2 },
      name: { type: 'string', id: 3 },
      op_type: { type: 'string', id: 4 },
      attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
      domain: { type: 'string', id: 7 },
    },
  };
  onnx['AttributeProto'] = {
    fields: {
      name: { type: 'string', id: 1 },
      f: { type: 'float', id: 2 },
      i: { type: 'int64', id: 3 },
      ints: { rule: 'repeated', type: 'int64', id: 8 },
      type: { type: 'int32', id: 20 },
    },
  };
  Object.assign(onnx['TensorProto']!.fields, {
    dims: { rule: 'repeated', type: 'int64', id: 1 },
    data_type: { type: 'int32', id: 2 },
    float_data: { rule: 'repeated', type: 'float', id: 4, options: { packed: true } },
    int64_data: { rule: 'repeated', type: 'int64', id: 7, options: { packed: true } },
  });
  root = protobuf.Root.fromJSON(json as unknown as protobuf.INamespace);
  return root;
}

const FLOAT = 1;
const INT64 = 7;
const FLOAT16 = 10;
const ATTR_INT = 2;
const ATTR_INTS = 7;

function valueInfo(name: string, elemType: number, dims: (number | string)[]) {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

/** The constant head [1, 4 + nc, N]: zeros except the given anchors. Row-major: channel c, anchor a. */
export function headValues(spec: SyntheticModelSpec): Float32Array {
  const n = spec.anchors ?? anchorsFor(spec.width, spec.height);
  const c = 4 + spec.nc;
  const head = new Float32Array(c * n);
  for (const d of spec.detections ?? []) {
    const values = [...d.box, ...d.scores];
    values.forEach((v, ch) => {
      head[ch * n + d.anchor] = v;
    });
  }
  return head;
}

/** The constant end-to-end head [1, k, rowLength]: the given rows, then zero rows. */
function endToEndHead(e2e: NonNullable<SyntheticModelSpec['endToEnd']>): {
  dims: [number, number];
  values: Float32Array;
} {
  const k = e2e.k ?? 300;
  const len = e2e.rowLength ?? 6;
  const values = new Float32Array(k * len);
  e2e.rows.forEach((row, r) => values.set(row, r * len));
  return { dims: [k, len], values };
}

export function buildSyntheticModel(spec: SyntheticModelSpec): Uint8Array {
  const { width: w, height: h, nc } = spec;
  const e2e = spec.endToEnd ? endToEndHead(spec.endToEnd) : null;
  // Classic head [1, 4 + nc, N]; an end-to-end one is [1, K, 6]: c and n name the two head dimensions.
  const n = e2e ? e2e.dims[1] : (spec.anchors ?? anchorsFor(w, h));
  const c = e2e ? e2e.dims[0] : 4 + nc;
  const batch = spec.batch ?? 1;
  const b: number | string = batch === 'dynamic' ? 'batch' : batch;
  const names = spec.names ?? Array.from({ length: nc }, (_, i) => `class${i}`);
  const inType = spec.inputType === 'float16' ? FLOAT16 : FLOAT;
  const outType = spec.outputType === 'float16' ? FLOAT16 : FLOAT;

  const nodes: unknown[] = [];
  let x = 'images';
  if (inType === FLOAT16) {
    nodes.push({
      op_type: 'Cast',
      input: ['images'],
      output: ['x'],
      attribute: [{ name: 'to', i: FLOAT, type: ATTR_INT }],
    });
    x = 'x';
  }
  nodes.push({
    op_type: 'ReduceMean',
    input: [x],
    output: ['m'],
    attribute: [
      { name: 'axes', ints: [1, 2, 3], type: ATTR_INTS },
      { name: 'keepdims', i: 1, type: ATTR_INT },
    ],
  });
  nodes.push({ op_type: 'Reshape', input: ['m', 'shape3'], output: ['r'] });
  nodes.push(
    spec.unknownOp
      ? { op_type: 'NoSuchOp', domain: 'ai.yolo_trt.test', input: ['r', 'zero'], output: ['z'] }
      : { op_type: 'Mul', input: ['r', 'zero'], output: ['z'] },
  );
  const headOut = outType === FLOAT16 ? 'y' : 'output0';
  nodes.push({ op_type: 'Add', input: ['z', 'head'], output: [headOut] });
  if (outType === FLOAT16) {
    nodes.push({
      op_type: 'Cast',
      input: ['y'],
      output: ['output0'],
      attribute: [{ name: 'to', i: FLOAT16, type: ATTR_INT }],
    });
  }
  const initializer: unknown[] = [
    { name: 'shape3', dims: [3], data_type: INT64, int64_data: [-1, 1, 1] },
    { name: 'zero', dims: [], data_type: FLOAT, float_data: [0] },
    {
      name: 'head',
      dims: [1, c, n],
      data_type: FLOAT,
      float_data: Array.from(e2e ? e2e.values : headValues(spec)),
    },
  ];
  const inH: number | string = spec.dynamicHW ? 'height' : h;
  const inW: number | string = spec.dynamicHW ? 'width' : w;
  const outputs = [valueInfo('output0', outType, spec.declaredOutputDims ?? [b, c, n])];
  if (spec.protos) {
    nodes.push({ op_type: 'Mul', input: ['m', 'zero'], output: ['mz'] });
    nodes.push({ op_type: 'Add', input: ['mz', 'protos_zero'], output: ['output1'] });
    initializer.push({
      name: 'protos_zero',
      dims: [1, 32, h / 4, w / 4],
      data_type: FLOAT,
      float_data: new Array<number>(32 * (h / 4) * (w / 4)).fill(0),
    });
    outputs.push(valueInfo('output1', FLOAT, [b, 32, h / 4, w / 4]));
  }

  let metadata: Record<string, string> = {};
  if (spec.metadata !== null) {
    metadata = spec.metadata ?? {
      description: 'yolo-trt synthetic test model',
      stride: '32',
      task: 'detect',
      batch: String(batch === 'dynamic' ? 1 : batch),
      imgsz: `[${h}, ${w}]`,
      names: pythonNames(names),
    };
    metadata = { ...metadata, ...spec.extraMetadata };
  }

  const opsets = [{ domain: '', version: 13 }];
  if (spec.unknownOp) opsets.push({ domain: 'ai.yolo_trt.test', version: 1 });
  const model = {
    ir_version: spec.irVersion ?? 8,
    producer_name: 'yolo-trt-tests',
    opset_import: opsets,
    graph: {
      name: 'synthetic_detect',
      node: nodes,
      initializer,
      input: [valueInfo('images', inType, [b, 3, inH, inW])],
      output: outputs,
    },
    metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  };
  const type = writeRoot().lookupType('onnx.ModelProto');
  return type.encode(type.fromObject(model)).finish();
}

let tmpDir: string | undefined;

/** Writes the model to a temp file and returns its path. */
export function writeSyntheticModel(spec: SyntheticModelSpec, name = 'synthetic.onnx'): string {
  tmpDir ??= mkdtempSync(path.join(os.tmpdir(), 'yolo-trt-synth-'));
  const file = path.join(tmpDir, `${process.pid}-${Math.random().toString(36).slice(2, 8)}-${name}`);
  writeFileSync(file, buildSyntheticModel(spec));
  return file;
}

/** A temp directory for tests' own files. */
export function testTmpDir(): string {
  tmpDir ??= mkdtempSync(path.join(os.tmpdir(), 'yolo-trt-synth-'));
  return tmpDir;
}
