/**
 * The part of onnx.proto (github.com/onnx/onnx, onnx/onnx.proto) that yolo-trt reads, as a protobufjs
 * JSON descriptor. protobufjs does the wire-format parsing; this file only names fields.
 *
 * Why a subset: fields not declared here are skipped by protobufjs without being decoded. The bulk of a
 * model file is initializer `raw_data` (weights); declaring only initializer *names*, and no nodes at all
 * (GraphProto.node = 1 is left out: nothing here needs op types), keeps decoding a 10 MB model to a few
 * milliseconds.
 *
 * Field numbers and types match onnx.proto exactly (proto2). Names keep onnx.proto's snake_case so they
 * can be checked against it line by line.
 */
import protobuf from 'protobufjs';

/** protobufjs decodes int64 as Long (the `long` package is installed) or number; see `int64ToNumber`. */
export type Int64 = number | { toNumber(): number };

export interface OnnxOperatorSetId {
  domain: string;
  version: Int64;
}

export interface OnnxStringStringEntry {
  key: string;
  value: string;
}

export interface OnnxDimension {
  dim_value?: Int64;
  dim_param?: string;
  /** Which member of the `value` oneof is set (protobufjs virtual oneof field), if any. */
  value?: 'dim_value' | 'dim_param';
}

export interface OnnxTensorShape {
  dim: OnnxDimension[];
}

export interface OnnxTensorType {
  elem_type: number;
  shape?: OnnxTensorShape;
}

export interface OnnxType {
  tensor_type?: OnnxTensorType;
}

export interface OnnxValueInfo {
  name: string;
  type?: OnnxType;
}

/** Only the name: the data fields are left undeclared on purpose (see the file comment). */
export interface OnnxInitializer {
  name: string;
}

export interface OnnxGraph {
  name: string;
  initializer: OnnxInitializer[];
  input: OnnxValueInfo[];
  output: OnnxValueInfo[];
}

export interface OnnxModel {
  ir_version: Int64;
  producer_name: string;
  opset_import: OnnxOperatorSetId[];
  graph?: OnnxGraph;
  metadata_props: OnnxStringStringEntry[];
}

/** TensorProto.DataType values we care about. */
export const ONNX_DTYPE = { FLOAT: 1, UINT8: 2, INT8: 3, INT64: 7, FLOAT16: 10, DOUBLE: 11 } as const;

/**
 * The descriptor, exported so test helpers can extend a copy of it with the fields needed to *write*
 * models (node inputs/outputs, attributes, tensor data). Treat it as read-only.
 */
export const onnxSchemaJson = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            ir_version: { type: 'int64', id: 1 },
            producer_name: { type: 'string', id: 2 },
            graph: { type: 'GraphProto', id: 7 },
            opset_import: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
            metadata_props: { rule: 'repeated', type: 'StringStringEntryProto', id: 14 },
          },
        },
        OperatorSetIdProto: {
          fields: {
            domain: { type: 'string', id: 1 },
            version: { type: 'int64', id: 2 },
          },
        },
        StringStringEntryProto: {
          fields: {
            key: { type: 'string', id: 1 },
            value: { type: 'string', id: 2 },
          },
        },
        GraphProto: {
          fields: {
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        TensorProto: {
          fields: {
            name: { type: 'string', id: 8 },
          },
        },
        ValueInfoProto: {
          fields: {
            name: { type: 'string', id: 1 },
            type: { type: 'TypeProto', id: 2 },
          },
        },
        TypeProto: {
          oneofs: { value: { oneof: ['tensor_type'] } },
          fields: {
            tensor_type: { type: 'Tensor', id: 1 },
          },
          nested: {
            Tensor: {
              fields: {
                elem_type: { type: 'int32', id: 1 },
                shape: { type: 'TensorShapeProto', id: 2 },
              },
            },
          },
        },
        TensorShapeProto: {
          fields: {
            dim: { rule: 'repeated', type: 'Dimension', id: 1 },
          },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dim_value', 'dim_param'] } },
              fields: {
                dim_value: { type: 'int64', id: 1 },
                dim_param: { type: 'string', id: 2 },
              },
            },
          },
        },
      },
    },
  },
} as const;

/** Every message type in the schema, leaves first, so each `setup()` compiles one small decoder. */
const TYPE_NAMES = [
  'onnx.TensorShapeProto.Dimension',
  'onnx.TensorShapeProto',
  'onnx.TypeProto.Tensor',
  'onnx.TypeProto',
  'onnx.ValueInfoProto',
  'onnx.TensorProto',
  'onnx.StringStringEntryProto',
  'onnx.OperatorSetIdProto',
  'onnx.GraphProto',
  'onnx.ModelProto',
] as const;

let prepared: Promise<protobuf.Type> | undefined;

/**
 * The protobufjs type for onnx.ModelProto, built once per process.
 *
 * Why async: building the Root and generating the decoders (protobufjs compiles one function per type on
 * first use) costs ~10-25 ms of synchronous work on a cold process, measured on the 2-core dev box. Doing
 * it one type per macrotask keeps each slice to a few ms, so a server that loads a model while serving
 * does not stall its event loop.
 */
export function onnxModelType(): Promise<protobuf.Type> {
  prepared ??= (async () => {
    const root = protobuf.Root.fromJSON(onnxSchemaJson as unknown as protobuf.INamespace);
    for (const name of TYPE_NAMES) {
      await yieldToEventLoop();
      root.lookupType(name).setup();
    }
    return root.lookupType('onnx.ModelProto');
  })();
  return prepared;
}

/** Decodes a ModelProto. Throws protobufjs' errors (RangeError / Error) on malformed input. */
export async function decodeOnnxModel(bytes: Uint8Array): Promise<OnnxModel> {
  const type = await onnxModelType();
  await yieldToEventLoop();
  return type.decode(bytes) as unknown as OnnxModel;
}

export function int64ToNumber(value: Int64 | undefined | null): number {
  if (value === undefined || value === null) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
