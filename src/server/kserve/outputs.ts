import type { DetectResult } from '../../results.js';
import { badRequest } from '../http-errors.js';
import type { InferOutputTensor, InferRequestedOutput, TensorMetadata } from './types.js';

/**
 * Detections as KServe tensors, named like TensorRT's EfficientNMS outputs (what Triton YOLO clients
 * already parse). For a batch of N images, K = the largest detection count in the batch:
 *
 *   num_dets     INT32 [N, 1]     detections per image
 *   det_boxes    FP32  [N, K, 4]  x1, y1, x2, y2, score-descending
 *   det_scores   FP32  [N, K]     class score, 0..1
 *   det_classes  INT32 [N, K]     class id (names: GET /v2/models/{m}/config -> labels)
 *
 * Rows past num_dets[i] are zeros. Boxes are in original-image pixels for BYTES inputs and in
 * network-input (letterboxed) pixels for FP32 inputs.
 */

export const OUTPUTS: readonly TensorMetadata[] = [
  { name: 'num_dets', datatype: 'INT32', shape: [-1, 1], description: 'detections per image' },
  {
    name: 'det_boxes',
    datatype: 'FP32',
    shape: [-1, -1, 4],
    description:
      'x1,y1,x2,y2 per detection, score-descending; original-image pixels for BYTES inputs, network-input pixels for FP32 inputs; rows past num_dets are 0',
  },
  { name: 'det_scores', datatype: 'FP32', shape: [-1, -1], description: 'class score 0..1 per detection' },
  {
    name: 'det_classes',
    datatype: 'INT32',
    shape: [-1, -1],
    description: 'class id per detection (labels in /config)',
  },
];

const NAMES = new Set(OUTPUTS.map((o) => o.name));

export interface EncodedOutputs {
  outputs: InferOutputTensor[];
  /** Binary blobs, in the order of the outputs that have parameters.binary_data_size. */
  blobs: Buffer[];
}

/**
 * Builds the requested outputs (all when `requested` is absent), in JSON or binary per output
 * (`parameters.binary_data`) or for all (`binaryDefault`).
 */
export function encodeOutputs(
  results: readonly DetectResult[],
  requested: readonly InferRequestedOutput[] | undefined,
  binaryDefault: boolean,
): EncodedOutputs {
  const want: readonly InferRequestedOutput[] = requested ?? OUTPUTS.map((o) => ({ name: o.name }));
  for (const r of want) {
    if (!NAMES.has(r.name)) {
      throw badRequest(
        `Expected outputs among ${[...NAMES].join(', ')} but received '${r.name.slice(0, 64)}'`,
      );
    }
  }
  const n = results.length;
  const k = results.reduce((m, r) => Math.max(m, r.detections.length), 0);
  const num = new Int32Array(n);
  const boxes = new Float32Array(n * k * 4);
  const scores = new Float32Array(n * k);
  const classes = new Int32Array(n * k);
  results.forEach((r, i) => {
    num[i] = r.detections.length;
    r.detections.forEach((d, j) => {
      boxes.set(d.box, (i * k + j) * 4);
      scores[i * k + j] = d.conf;
      classes[i * k + j] = d.cls;
    });
  });
  const tensors: Record<string, { datatype: string; shape: number[]; values: Int32Array | Float32Array }> = {
    num_dets: { datatype: 'INT32', shape: [n, 1], values: num },
    det_boxes: { datatype: 'FP32', shape: [n, k, 4], values: boxes },
    det_scores: { datatype: 'FP32', shape: [n, k], values: scores },
    det_classes: { datatype: 'INT32', shape: [n, k], values: classes },
  };
  const outputs: InferOutputTensor[] = [];
  const blobs: Buffer[] = [];
  for (const r of want) {
    const t = tensors[r.name]!;
    const binary = r.parameters?.binary_data ?? binaryDefault;
    if (binary) {
      const blob = Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength);
      blobs.push(blob);
      outputs.push({
        name: r.name,
        datatype: t.datatype,
        shape: t.shape,
        parameters: { binary_data_size: blob.length },
      });
    } else {
      outputs.push({ name: r.name, datatype: t.datatype, shape: t.shape, data: Array.from(t.values) });
    }
  }
  return { outputs, blobs };
}

/** The inputs a model accepts, for its metadata. */
export function inputMetadata(inputName: string, imgsz: readonly [number, number]): TensorMetadata[] {
  return [
    {
      name: 'image_bytes',
      datatype: 'BYTES',
      shape: [-1],
      description:
        'encoded images (JPEG, PNG, WebP, ...): base64 strings in JSON, raw with the binary extension. Send this or the FP32 input; any input name is accepted, the datatype decides',
    },
    {
      name: inputName,
      datatype: 'FP32',
      shape: [-1, 3, imgsz[0], imgsz[1]],
      description: 'letterboxed RGB in 0..1, NCHW (pad value 114/255); boxes come back in these pixels',
    },
  ];
}
