/**
 * readModelInfo: what a YOLO ONNX file is (names, imgsz, stride, batch, tensor names) and whether we can
 * run it, decided before any backend spends seconds loading it. Metadata written by Ultralytics wins;
 * tensor shapes fill the gaps and must agree with it. See ../shared/docs/ULTRALYTICS.md "Model file".
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { YoloTrtError, invalidOption } from '../errors.js';
import { parseImgsz, parseNames, parsePositiveInt } from './names.js';
import { decodeOnnxModel, int64ToNumber, ONNX_DTYPE } from './onnx-schema.js';
import type { OnnxModel, OnnxValueInfo } from './onnx-schema.js';
import type { ModelInfo, YoloTask } from './types.js';

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

export async function readModelInfo(modelPath: string): Promise<ModelInfo> {
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

  // Task first: a segment model also has a [B, 4+nc+32, N] output that would otherwise look almost valid.
  const metaTask = metadata['task']?.trim();
  if (metaTask !== undefined && metaTask !== 'detect') throw taskRefused(file, metaTask, 'metadata');

  const initializers = new Set(graph.initializer.map((t) => t.name));
  // Old exports (IR < 4) list weights as graph inputs too; only the others are fed by the caller.
  const inputs = graph.input.filter((v) => !initializers.has(v.name)).map(describeTensor);
  const outputs = graph.output.map(describeTensor);
  if (inputs.length === 0) throw notOnnx(file, 'its graph has no inputs');
  if (outputs.length === 0) throw notOnnx(file, 'its graph has no outputs');
  if (metaTask === undefined) {
    const guessed = guessTaskFromOutputs(outputs);
    if (guessed !== 'detect') throw taskRefused(file, guessed, 'shape');
  }
  if (metadata['end2end']?.trim() === 'True') {
    throw unsupported(
      file,
      'it is an end-to-end export (NMS inside the model, metadata end2end=True); yolo-trt runs its own NMS: export with nms=False (YOLOv10/YOLO26: end2end=False)',
    );
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
      `expected exactly one output ([B, 4 + nc, N]) but the graph has ${outputs.length}: ${outputs.map(showTensor).join(', ')}`,
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

  // imgsz: metadata first; a fixed input size must agree with it (it is what the network really takes).
  let imgsz: [number, number];
  let imgszSource: 'metadata' | 'shape';
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
  } else {
    throw unsupported(
      file,
      `the input height/width are dynamic (${showTensor(input)}) and there is no 'imgsz' metadata to say which size it was trained for; export with a fixed imgsz or add imgsz metadata`,
    );
  }

  const stride =
    metadata['stride'] !== undefined
      ? inFile(file, () => parsePositiveInt('stride', metadata['stride'] as string))
      : DEFAULT_STRIDE;
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
    throw unsupported(
      file,
      `expected the output to be ${expectedShape(metaNames ? String(metaNames.length + 4) : '4 + nc')} but received ${showTensor(output)}`,
    );
  }
  const [outBatch = null, outChannels = null, outAnchors = null] = output.dims;

  let numClasses: number;
  if (outChannels !== null) {
    numClasses = outChannels - 4;
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
  if (outAnchors !== null && outAnchors !== expectedAnchors) {
    throw unsupported(
      file,
      `expected the output to be ${expectedShape(String(numClasses + 4))} but received ${showTensor(output)}`,
    );
  }
  if (inBatch !== null && outBatch !== null && inBatch !== outBatch) {
    throw unsupported(
      file,
      `the input batch (${showTensor(input)}) and output batch (${showTensor(output)}) differ`,
    );
  }

  return {
    path: file,
    // Ultralytics' AutoBackend names classes 'class0', 'class1', ... when the model carries none.
    names: metaNames ?? Array.from({ length: numClasses }, (_, i) => `class${i}`),
    imgsz,
    stride,
    task: 'detect',
    batch: inBatch,
    inputName: input.name,
    outputName: output.name,
    inputType,
    numClasses,
    numAnchors: expectedAnchors,
    metadata,
    source: { names: metaNames ? 'metadata' : 'shape', imgsz: imgszSource },
  };
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

/** Without task metadata: what the outputs look like. Only segment/classify can be told from shapes. */
function guessTaskFromOutputs(outputs: TensorDesc[]): YoloTask {
  const protos = outputs.some((o) => o.dims?.length === 4 && o.dims[1] === 32);
  if (outputs.length === 2 && protos) return 'segment';
  if (outputs.length === 1 && outputs[0]?.dims?.length === 2) return 'classify';
  return 'detect';
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

function taskRefused(file: string, task: string, from: 'metadata' | 'shape'): YoloTrtError {
  const known = (KNOWN_TASKS as readonly string[]).includes(task);
  const how =
    from === 'metadata' ? `its metadata says task '${task}'` : `its outputs look like a '${task}' model`;
  return new YoloTrtError(
    'ERR_TASK_UNSUPPORTED',
    `Model ${file} is a ${known ? `'${task}'` : 'non-detect'} model (${how}); yolo-trt supports only 'detect' models for now`,
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
