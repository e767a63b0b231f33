import type { ServerContext } from '../context.js';
import { badRequest } from '../http-errors.js';
import { decodeInferInput } from '../kserve/decode-inputs.js';
import { encodeOutputs } from '../kserve/outputs.js';
import { inferResponseParameters } from '../kserve/service.js';
import type { InferInputTensor, InferRequestBody } from '../kserve/types.js';
import type { RequestParams } from '../model-instance.js';
import { checkParamsForModel } from '../routes/params.js';
import {
  parameterValue,
  type InferParameter,
  type ModelInferRequest,
  type ModelInferResponse,
} from './messages.js';

/**
 * gRPC ModelInfer: the request is turned into the same tensor description the HTTP route decodes
 * (raw_input_contents play the part of the binary extension's bytes; bytes_contents and fp32_contents
 * the part of JSON data), runs through the same model instance (batcher, limits, stats, metrics), and
 * every output comes back as raw little-endian bytes in raw_output_contents, as Triton does.
 */
export async function grpcInfer(
  ctx: ServerContext,
  request: ModelInferRequest,
  startedAt: number,
  signal: AbortSignal,
): Promise<ModelInferResponse> {
  const routed = ctx.candidates.acquire(request.model_name, request.model_version || undefined);
  const inst = routed.inst;
  try {
    const info = inst.detector.model;
    const raw = request.raw_input_contents;
    if (raw.length > 0 && raw.length !== request.inputs.length) {
      throw badRequest(
        `Expected one raw_input_contents entry per input (${request.inputs.length}) but received ${raw.length}`,
      );
    }
    const inputs: InferInputTensor[] = request.inputs.map((t, i) => {
      const bytes = raw[i];
      const data =
        t.datatype === 'BYTES'
          ? t.contents?.bytes_contents
          : t.datatype === 'FP32'
            ? t.contents?.fp32_contents
            : undefined;
      const hasContents = data !== undefined && data.length > 0;
      if (bytes !== undefined && hasContents) {
        throw badRequest(`input '${t.name}' has both raw_input_contents and typed contents`);
      }
      return {
        name: t.name,
        datatype: t.datatype,
        shape: t.shape,
        ...(bytes === undefined ? {} : { parameters: { binary_data_size: bytes.length } }),
        ...(hasContents ? { data } : {}),
      };
    });
    const outputs = request.outputs.length === 0 ? undefined : request.outputs.map((o) => ({ name: o.name }));
    const body: InferRequestBody = { inputs, ...(outputs === undefined ? {} : { outputs }) };
    const input = decodeInferInput(body, raw[0], {
      maxImages: ctx.limits.maxImagesPerRequest,
      imgsz: info.imgsz,
    });
    const params = requestParams(request.parameters);
    checkParamsForModel(params, info.names.length);
    encodeOutputs([], outputs, true); // unknown output names fail before inference
    const outcome = await routed.infer({ ...input, params }, startedAt, signal);
    const encoded = encodeOutputs(outcome.results, outputs, true);
    const parameters: Record<string, InferParameter> = {};
    for (const [k, v] of Object.entries(inferResponseParameters(outcome))) {
      parameters[k] = k === 'batch_size' ? { int64_param: v } : { double_param: v };
    }
    return {
      model_name: inst.name,
      model_version: inst.version,
      ...(request.id === '' ? {} : { id: request.id }),
      parameters,
      outputs: encoded.outputs.map((o) => ({ name: o.name, datatype: o.datatype, shape: o.shape })),
      raw_output_contents: encoded.blobs,
    };
  } finally {
    routed.release();
  }
}

const threshold = (name: string, v: unknown): number => {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
    throw badRequest(`Expected a number between 0 and 1 for parameter '${name}' but received ${String(v)}`);
  }
  return v;
};

/**
 * Request parameters, as over HTTP: conf, iou (double), max_det (int64), agnostic (bool), classes (a
 * string of comma-separated ids, or one int64 id: InferParameter has no lists). Others are ignored, as
 * KServe allows.
 */
export function requestParams(parameters: Record<string, InferParameter>): RequestParams {
  const out: RequestParams = {};
  for (const [name, p] of Object.entries(parameters)) {
    const v = parameterValue(p as InferParameter & Record<string, unknown>);
    switch (name) {
      case 'conf':
        out.conf = threshold(name, v);
        break;
      case 'iou':
        out.iou = threshold(name, v);
        break;
      case 'max_det':
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 30_000) {
          throw badRequest(
            `Expected an integer between 1 and 30000 for parameter 'max_det' but received ${String(v)}`,
          );
        }
        out.maxDet = v;
        break;
      case 'agnostic':
        if (typeof v !== 'boolean') {
          throw badRequest(`Expected a bool for parameter 'agnostic' but received ${String(v)}`);
        }
        out.agnostic = v;
        break;
      case 'classes':
        if (typeof v === 'number' && Number.isInteger(v)) out.classes = [v];
        else if (typeof v === 'string' && /^[0-9]{1,6}(,[0-9]{1,6}){0,999}$/.test(v)) {
          out.classes = v.split(',').map(Number);
        } else {
          throw badRequest(
            `Expected comma-separated class ids (string) or one id (int64) for parameter 'classes' but received ${String(v).slice(0, 60)}`,
          );
        }
        break;
      default:
    }
  }
  return out;
}
