/**
 * readModelInfo: what a YOLO ONNX file is (names, imgsz, stride, batch, tensor names) and whether we can
 * run it, decided before any backend spends seconds loading it. Metadata written by Ultralytics wins;
 * tensor shapes fill the gaps and must agree with it. Two output layouts run: the classic [B, 4 + nc, A]
 * and the end-to-end [B, K, 6] (docs/exports.md).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { YoloTrtError, invalidOption } from '../errors.js';
import { parseImgsz, parseNames, parsePositiveInt } from './names.js';
import { decodeOnnxModel, int64ToNumber, ONNX_DTYPE } from './onnx-schema.js';
import type { OnnxModel, OnnxValueInfo } from './onnx-schema.js';
import { exportFlag, parseExportArgs } from './export-args.js';
import type { ModelInfo, ReadModelOptions, YoloTask } from './types.js';

/** protobuf messages cannot exceed 2 GiB; bigger models keep weights in external data files. */
const MAX_PROTOBUF_BYTES = 2 ** 31 - 1;
const KNOWN_TASKS: readonly YoloTask[] = ['detect', 'segment', 'pose', 'obb', 'classify'];
/** Ultralytics' largest stride when the metadata does not say (YOLOv8/YOLO11: 32). */
const DEFAULT_STRIDE = 32;

/** One tensor dimension: a fixed size, or null when dynamic (dim_param, -1/0, or absent). */
type Dim = number | null;

interface TensorDesc {
  name: string;
  elemType: number;
  /** null when the model declares no shape at all. */
  dims: Dim[] | null;
  /** The same dims as written in the file, for messages ('batch', 640, ...). */
  shownDims: string[];
}

export async function readModelInfo(modelPath: string, options: ReadModelOptions = {}): Promise<ModelInfo> {
  if (typeof modelPath !== 'string' || modelPath.length === 0) {
    throw invalidOption('model', 'a path to an .onnx file', modelPath);
  }
  const file = path.resolve(modelPath);
  const bytes = await readModelFile(file);
  if (path.extname(file).toLowerCase() === '.engine' || looksLikeUltralyticsEngine(bytes)) {
    throw engineRefused(file);
  }

  const model = await decode(file, bytes);
  const graph = model.graph;
  if (!graph) throw notOnnx(file, 'it has no graph');
  const metadata: Record<string, string> = {};
  for (const { key, value } of model.metadata_props) metadata[key] = value;
  const e2eByMetadata = endToEndFromMetadata(metadata);

  // Task first: a segment model also has a [B, 4+nc+32, N] output that would otherwise look almost valid.
  const metaTask = metadata['task']?.trim();
  if (metaTask !== undefined && metaTask !== 'detect') {
    throw taskRefused(file, metaTask, 'metadata', e2eByMetadata !== null ? 'end-to-end ' : '');
  }

  const initializers = new Set(graph.initializer.map((t) => t.name));
  // Old exports (IR < 4) list weights as graph inputs too; only the others are fed by the caller.
  const inputs = graph.input.filter((v) => !initializers.has(v.name)).map(describeTensor);
  const outputs = graph.output.map(describeTensor);
  if (inputs.length === 0) throw notOnnx(file, 'its graph has no inputs');
  if (outputs.length === 0) throw notOnnx(file, 'its graph has no outputs');
  if (metaTask === undefined) {
    const guessed = guessTaskFromOutputs(outputs);
    if (guessed !== null) throw taskRefused(file, guessed.task, 'shape', guessed.kind);
  }

  if (inputs.length !== 1) {
    throw unsupported(
      file,
      `expected exactly one input (images [B,3,H,W]) but the graph has ${inputs.length}: ${inputs.map(showTensor).join(', ')}`,
    );
  }
  if (outputs.length !== 1) {
    throw unsupported(
      file,
      `expected exactly one output ([B, 4 + nc, N], or [B, K, 6] end-to-end) but the graph has ${outputs.length}: ${outputs.map(showTensor).join(', ')}`,
    );
  }
  const input = inputs[0] as TensorDesc;
  const output = outputs[0] as TensorDesc;

  const inputType = floatType(input.elemType);
  if (inputType === null) {
    throw unsupported(
      file,
      `expected the input '${input.name}' to be float32 or float16 but it is ${dtypeName(input.elemType)}`,
    );
  }
  if (input.dims === null || input.dims.length !== 4 || (input.dims[1] !== null && input.dims[1] !== 3)) {
    throw unsupported(file, `expected the input to be [B, 3, H, W] but received ${showTensor(input)}`);
  }
  const [inBatch = null, , inH = null, inW = null] = input.dims;

  const stride =
    metadata['stride'] !== undefined
      ? inFile(file, () => parsePositiveInt('stride', metadata['stride'] as string))
      : DEFAULT_STRIDE;

  // imgsz: metadata first; a fixed input size must agree with it (it is what the network really takes).
  let imgsz: [number, number];
  let imgszSource: 'metadata' | 'shape' | 'option';
  const metaImgsz = metadata['imgsz'];
  if (metaImgsz !== undefined) {
    imgsz = inFile(file, () => parseImgsz(metaImgsz));
    imgszSource = 'metadata';
    if ((inH !== null && inH !== imgsz[0]) || (inW !== null && inW !== imgsz[1])) {
      throw unsupported(
        file,
        `its metadata says imgsz [${imgsz.join(', ')}] (height, width) but the input is ${showTensor(input)}`,
      );
    }
  } else if (inH !== null && inW !== null) {
    imgsz = [inH, inW];
    imgszSource = 'shape';
  } else if (options.imgsz !== undefined) {
    imgsz = [options.imgsz[0], options.imgsz[1]];
    imgszSource = 'option';
  } else {
    throw unsupported(
      file,
      `the input height/width are dynamic (${showTensor(input)}) and there is no 'imgsz' metadata to say which size it was trained for; pass the imgsz option, export with a fixed imgsz or add imgsz metadata`,
    );
  }
  if (options.imgsz !== undefined) {
    imgsz = chooseImgsz(file, input, options.imgsz, imgsz, stride);
    imgszSource = 'option';
  }
  const expectedAnchors = anchorCount(imgsz, stride);

  const outputType = floatType(output.elemType);
  if (outputType === null) {
    throw unsupported(
      file,
      `expected the output '${output.name}' to be float32 or float16 but it is ${dtypeName(output.elemType)}`,
    );
  }
  const metaNames =
    metadata['names'] !== undefined ? inFile(file, () => parseNames(metadata['names'] as string)) : null;
  const expectedShape = (nc: string): string =>
    `[B, 4 + nc, N] = [${inBatch ?? 'B'}, ${nc}, ${expectedAnchors}] for imgsz ${imgsz[0]}x${imgsz[1]} (N = anchors at strides ${strideLevels(stride).join('/')})`;
  if (output.dims === null || output.dims.length !== 3) {
    const classic = expectedShape(metaNames ? String(metaNames.length + 4) : '4 + nc');
    throw unsupported(
      file,
      `expected the output to be ${e2eByMetadata !== null ? '[B, K, 6] (end-to-end)' : `${classic} or [B, K, 6] (end-to-end)`} but received ${showTensor(output)}`,
    );
  }
  const [outBatch = null, outMiddle = null, outLast = null] = output.dims;
  if (inBatch !== null && outBatch !== null && inBatch !== outBatch) {
    throw unsupported(
      file,
      `the input batch (${showTensor(input)}) and output batch (${showTensor(output)}) differ`,
    );
  }

  const layout = outputLayout(file, output, e2eByMetadata, expectedAnchors, metaTask !== undefined);
  const base = {
    path: file,
    imgsz,
    stride,
    task: 'detect' as const,
    batch: inBatch,
    inputName: input.name,
    outputName: output.name,
    inputType,
    numAnchors: expectedAnchors,
    dynamicHW: inH === null || inW === null,
    metadata,
  };

  if (layout !== null) {
    // Ultralytics' AutoBackend names classes 'class0' .. 'class998' when the model carries none.
    const names = metaNames ?? Array.from({ length: DEFAULT_CLASS_COUNT }, (_, i) => `class${i}`);
    return {
      ...base,
      names,
      numClasses: names.length,
      endToEnd: true,
      outputRows: outMiddle,
      ignoredOptions: ['iou', 'agnostic'],
      source: { names: metaNames ? 'metadata' : 'default', imgsz: imgszSource, endToEnd: layout },
    };
  }

  let numClasses: number;
  if (outMiddle !== null) {
    numClasses = outMiddle - 4;
    if (numClasses < 1) {
      throw unsupported(
        file,
        `expected the output to be ${expectedShape('4 + nc')} with nc >= 1 but received ${showTensor(output)}`,
      );
    }
    if (metaNames && metaNames.length !== numClasses) {
      throw unsupported(
        file,
        `its metadata names ${metaNames.length} classes, so the output should be ${expectedShape(String(metaNames.length + 4))}, but received ${showTensor(output)} (${numClasses} classes)`,
      );
    }
  } else if (metaNames) {
    numClasses = metaNames.length;
  } else {
    throw unsupported(
      file,
      `the output's class dimension is dynamic (${showTensor(output)}) and there is no 'names' metadata to say how many classes there are`,
    );
  }
  if (outLast !== null && outLast !== expectedAnchors) {
    throw unsupported(
      file,
      `expected the output to be ${expectedShape(String(numClasses + 4))} (or [B, K, 6] end-to-end) but received ${showTensor(output)}`,
    );
  }

  return {
    ...base,
    // Ultralytics' AutoBackend names classes 'class0', 'class1', ... when the model carries none.
    names: metaNames ?? Array.from({ length: numClasses }, (_, i) => `class${i}`),
    numClasses,
    endToEnd: false,
    outputRows: null,
    ignoredOptions: [],
    source: { names: metaNames ? 'metadata' : 'shape', imgsz: imgszSource, endToEnd: null },
  };
}

/** How many classes Ultralytics assumes for a model without names (default_class_names: class0..class998). */
const DEFAULT_CLASS_COUNT = 999;

/** Floats per row of an end-to-end output, by task: detect 6, obb 7 (angle), pose 6 + 17 * 3. */
const E2E_ROW_DETECT = 6;
const E2E_ROW_OBB = 7;
const E2E_ROW_POSE = 57;

/**
 * Whether the metadata says the output is end-to-end: `end2end: True` (YOLO26/YOLOv10), or `'nms': True`
 * inside `args` (any export with nms=True). Returns how it was said, or null.
 */
function endToEndFromMetadata(
  metadata: Record<string, string>,
): 'metadata end2end' | 'metadata args nms' | null {
  if (metadata['end2end']?.trim() === 'True') return 'metadata end2end';
  const args = metadata['args'];
  if (args !== undefined && exportFlag(parseExportArgs(args), 'nms') === true) return 'metadata args nms';
  return null;
}

/**
 * Classic [B, 4 + nc, A] (returns null) or end-to-end [B, K, 6] (returns how it was recognised). Without
 * metadata the shape decides: last dimension 6 and a middle one that is not the anchor count.
 * End-to-end rows of other tasks (obb [B, K, 7], pose [B, K, 57]) are refused naming the task.
 */
function outputLayout(
  file: string,
  output: TensorDesc,
  byMetadata: 'metadata end2end' | 'metadata args nms' | null,
  anchors: number,
  hasTaskMetadata: boolean,
): 'metadata end2end' | 'metadata args nms' | 'shape' | null {
  const [, middle = null, last = null] = output.dims ?? [];
  const notAnchors = middle !== anchors;
  if (byMetadata !== null) {
    if (last === E2E_ROW_DETECT || last === null) return byMetadata;
    if (!hasTaskMetadata && last === E2E_ROW_OBB) throw taskRefused(file, 'obb', 'shape', 'end-to-end ');
    if (!hasTaskMetadata && last === E2E_ROW_POSE) throw taskRefused(file, 'pose', 'shape', 'end-to-end ');
    throw unsupported(
      file,
      `its metadata says it is end-to-end (${byMetadata}), so the output should be [B, K, 6] rows (x1, y1, x2, y2, score, cls), but received ${showTensor(output)}`,
    );
  }
  if (last === E2E_ROW_DETECT && notAnchors) return 'shape';
  if (!hasTaskMetadata && notAnchors && last === E2E_ROW_OBB) {
    throw taskRefused(file, 'obb', 'shape', 'end-to-end ');
  }
  if (!hasTaskMetadata && notAnchors && last === E2E_ROW_POSE) {
    throw taskRefused(file, 'pose', 'shape', 'end-to-end ');
  }
  return null;
}

/**
 * The imgsz option: a model with fixed height/width takes only its own size; a dynamic one takes any
 * multiple of the stride (the feature pyramid halves the size `stride` times over).
 */
function chooseImgsz(
  file: string,
  input: TensorDesc,
  wanted: readonly [number, number],
  own: [number, number],
  stride: number,
): [number, number] {
  const [, , inH = null, inW = null] = input.dims ?? [];
  const fixedH = inH !== null && wanted[0] !== inH;
  const fixedW = inW !== null && wanted[1] !== inW;
  if (fixedH || fixedW) {
    throw new YoloTrtError(
      'ERR_INVALID_OPTION',
      `Model ${file} has a fixed input size ${own[0]}x${own[1]} (height x width, ${showTensor(input)}); imgsz [${wanted.join(', ')}] needs a model exported with dynamic=True (or leave imgsz unset)`,
      { details: { path: file, option: 'imgsz' } },
    );
  }
  if (wanted[0] % stride !== 0 || wanted[1] % stride !== 0) {
    const up = (v: number): number => Math.ceil(v / stride) * stride;
    throw new YoloTrtError(
      'ERR_INVALID_OPTION',
      `Expected imgsz to be multiples of the model's stride ${stride} but received [${wanted.join(', ')}] (height, width); use [${up(wanted[0])}, ${up(wanted[1])}] as Ultralytics would`,
      { details: { path: file, option: 'imgsz' } },
    );
  }
  return [wanted[0], wanted[1]];
}

/** Strides of the detection levels: 8, 16, ... up to the model's largest stride (P5: 8/16/32). */
function strideLevels(stride: number): number[] {
  const levels: number[] = [];
  for (let s = 8; s <= stride; s *= 2) levels.push(s);
  return levels.length > 0 ? levels : [stride];
}

/**
 * Number of anchors of a detect head: one per cell of each level's feature map. Stride-2 convolutions
 * (k=3, p=1) give ceil(size / 2) per step, hence ceil(size / s).
 */
export function anchorCount(imgsz: readonly [number, number], stride: number): number {
  let n = 0;
  for (const s of strideLevels(stride)) n += Math.ceil(imgsz[0] / s) * Math.ceil(imgsz[1] / s);
  return n;
}

async function readModelFile(file: string): Promise<Uint8Array> {
  try {
    const stat = await fs.stat(file);
    if (stat.isDirectory()) {
      throw new YoloTrtError('ERR_MODEL_NOT_FOUND', `Model path ${file} is a directory, not an .onnx file`, {
        details: { path: file },
      });
    }
    if (stat.size === 0) throw notOnnx(file, 'the file is empty (0 bytes)');
    if (stat.size > MAX_PROTOBUF_BYTES) {
      throw unsupported(
        file,
        `it is ${stat.size} bytes, over protobuf's 2 GiB limit (models that big keep their weights in external data files)`,
      );
    }
    return await fs.readFile(file);
  } catch (err) {
    if (err instanceof YoloTrtError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' || code === 'ENOTDIR'
        ? 'does not exist'
        : code === 'EACCES' || code === 'EPERM'
          ? 'cannot be read (permission denied)'
          : `cannot be read (${(err as Error).message})`;
    throw new YoloTrtError('ERR_MODEL_NOT_FOUND', `Model file ${file} ${why}`, {
      cause: err,
      details: { path: file },
    });
  }
}

/**
 * A PyTorch checkpoint (`yolo11n.pt`: a zip archive, or an old pickle) given where an ONNX export belongs:
 * say how to export it instead of "not a valid protobuf".
 */
function pytorchCheckpoint(file: string, bytes: Uint8Array): YoloTrtError | null {
  const zip = bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04; // "PK\3\4"
  const pickle = bytes[0] === 0x80 && (bytes[1] ?? 0) >= 2 && (bytes[1] ?? 0) <= 5;
  if (!/\.(pt|pth)$/i.test(file) && !zip && !pickle) return null;
  return new YoloTrtError(
    'ERR_MODEL_INVALID',
    `Model file ${file} is a PyTorch checkpoint, not ONNX: export it first with Ultralytics, ` +
      `\`yolo export model=${file.split(/[\\/]/).pop() ?? file} format=onnx\` (then pass the .onnx; add half=True for float16)`,
    { details: { path: file } },
  );
}

async function decode(file: string, bytes: Uint8Array): Promise<OnnxModel> {
  const pt = pytorchCheckpoint(file, bytes);
  if (pt !== null) throw pt;
  try {
    return await decodeOnnxModel(bytes);
  } catch (err) {
    throw notOnnx(
      file,
      `it is not a valid protobuf (${(err as Error).message}); the file may be truncated or corrupt`,
      err,
    );
  }
}

/** Ultralytics .engine files: 4-byte little-endian length, then that many bytes of JSON, then the plan. */
function looksLikeUltralyticsEngine(bytes: Uint8Array): boolean {
  if (bytes.length < 6) return false;
  const len = (bytes[0] ?? 0) | ((bytes[1] ?? 0) << 8) | ((bytes[2] ?? 0) << 16) | ((bytes[3] ?? 0) << 24);
  if (len < 2 || len > bytes.length - 4 || bytes[4] !== 0x7b /* '{' */) return false;
  try {
    JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(4, 4 + len)));
    return true;
  } catch {
    return false;
  }
}

function describeTensor(v: OnnxValueInfo): TensorDesc {
  const tensor = v.type?.tensor_type;
  const dims = tensor?.shape?.dim;
  const shown: string[] = [];
  const out: Dim[] | null = dims ? [] : null;
  for (const d of dims ?? []) {
    if (d.value === 'dim_value') {
      const n = int64ToNumber(d.dim_value);
      out?.push(n > 0 ? n : null);
      shown.push(String(n));
    } else {
      out?.push(null);
      shown.push(d.value === 'dim_param' && d.dim_param ? String(d.dim_param) : '?');
    }
  }
  return { name: v.name, elemType: tensor?.elem_type ?? 0, dims: out, shownDims: shown };
}

function showTensor(t: TensorDesc): string {
  const shape = t.dims === null ? 'unknown shape' : `[${t.shownDims.join(', ')}]`;
  return `'${t.name}' ${shape} ${dtypeName(t.elemType)}`;
}

function floatType(elemType: number): 'float32' | 'float16' | null {
  if (elemType === ONNX_DTYPE.FLOAT) return 'float32';
  if (elemType === ONNX_DTYPE.FLOAT16) return 'float16';
  return null;
}

function dtypeName(elemType: number): string {
  const names: Record<number, string> = {
    0: 'of unknown type',
    1: 'float32',
    2: 'uint8',
    3: 'int8',
    4: 'uint16',
    5: 'int16',
    6: 'int32',
    7: 'int64',
    8: 'string',
    9: 'bool',
    10: 'float16',
    11: 'float64',
    16: 'bfloat16',
  };
  return names[elemType] ?? `ONNX type ${elemType}`;
}

/**
 * Without task metadata: what the outputs look like, when it is not detect. Segment has a second output
 * of 32 mask prototypes; its end-to-end form puts the rows first, [B, K, 6 + 32]. Classify is rank 2.
 * (Pose/obb end-to-end rows are told apart once the anchor count is known: outputLayout.)
 */
function guessTaskFromOutputs(outputs: TensorDesc[]): { task: YoloTask; kind: string } | null {
  const protos = outputs.find((o) => o.dims?.length === 4 && o.dims[1] === 32);
  if (outputs.length === 2 && protos) {
    const rows = outputs.find((o) => o !== protos);
    const e2e = rows?.dims?.length === 3 && rows.dims[2] === E2E_ROW_DETECT + 32;
    return { task: 'segment', kind: e2e ? 'end-to-end ' : '' };
  }
  if (outputs.length === 1 && outputs[0]?.dims?.length === 2) return { task: 'classify', kind: '' };
  return null;
}

/** Runs a metadata parser, adding the model path to its error (the parsers do not know the file). */
function inFile<T>(file: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof YoloTrtError)) throw err;
    throw new YoloTrtError(err.code, `Model ${file}: ${err.message}`, {
      cause: err,
      details: { ...err.details, path: file },
    });
  }
}

function notOnnx(file: string, why: string, cause?: unknown): YoloTrtError {
  return new YoloTrtError('ERR_MODEL_INVALID', `Model file ${file} is not an ONNX model: ${why}`, {
    cause,
    details: { path: file },
  });
}

function unsupported(file: string, why: string): YoloTrtError {
  return new YoloTrtError(
    'ERR_MODEL_UNSUPPORTED',
    `Model ${file} is not a YOLO detect export yolo-trt can run: ${why}`,
    {
      details: { path: file },
    },
  );
}

/** `kind` is '' or 'end-to-end ' (with the space), put before the word model. */
function taskRefused(file: string, task: string, from: 'metadata' | 'shape', kind = ''): YoloTrtError {
  const known = (KNOWN_TASKS as readonly string[]).includes(task);
  const how =
    from === 'metadata' ? `its metadata says task '${task}'` : `its outputs look like a '${task}' model`;
  return new YoloTrtError(
    'ERR_TASK_UNSUPPORTED',
    `Model ${file} is a ${known ? `'${task}'` : 'non-detect'} ${kind}model (${how}); yolo-trt supports only 'detect' models for now`,
    { details: { path: file, task } },
  );
}

function engineRefused(file: string): YoloTrtError {
  return new YoloTrtError(
    'ERR_MODEL_UNSUPPORTED',
    `Model ${file} is a TensorRT engine, not an ONNX model: TensorRT engines need backend 'tensorrt' (or pass the .onnx it was built from)`,
    { details: { path: file } },
  );
}
