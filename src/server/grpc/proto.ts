import { readFileSync } from 'node:fs';
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import protobuf from 'protobufjs';

/**
 * The KServe v2 gRPC protocol (inference.proto beside this file), parsed once with protobufjs, and the
 * grpc-js service definition built from it. Messages are plain objects with the proto's snake_case
 * field names; int64/uint64 arrive as numbers (shapes and counts stay far below 2^53), bytes as
 * Buffers (views into the received message, not copies), oneofs name their member in the oneof field
 * (e.g. `parameter_choice: 'double_param'`), enums as their names.
 */

// src/server/grpc/ and dist/server/grpc/ are both three levels below the package root; the .proto is
// shipped from src/ (package.json "files").
const PROTO_URL = new URL('../../../src/server/grpc/inference.proto', import.meta.url);

export const SERVICE_NAME = 'inference.GRPCInferenceService';

let root: protobuf.Root | undefined;

export function protoRoot(): protobuf.Root {
  if (root === undefined) {
    root = protobuf.parse(readFileSync(PROTO_URL, 'utf8'), new protobuf.Root(), { keepCase: true }).root;
    root.resolveAll();
  }
  return root;
}

const DECODE_OPTIONS: protobuf.IConversionOptions = {
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
};

/** Encoder and decoder of one message type. */
export interface Codec<T> {
  encode(value: T): Buffer;
  decode(bytes: Buffer): T;
}

export function codec<T>(typeName: string): Codec<T> {
  const type = protoRoot().lookupType(`inference.${typeName}`);
  return {
    encode: (value) => {
      // withoutDefaults also turns enum names into numbers, so the plain object encodes as it is
      // (protobufjs' fromObject would copy it once more).
      const bytes = type.encode(withoutDefaults(type, value)).finish();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    decode: (bytes) => type.toObject(type.decode(bytes), DECODE_OPTIONS) as T,
  };
}

/** The grpc-js service definition of GRPCInferenceService, from the parsed proto. */
export function serviceDefinition(): ServiceDefinition {
  const service = protoRoot().lookupService(SERVICE_NAME);
  const definition: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methodsArray) {
    const req = codec<unknown>(method.requestType);
    const res = codec<unknown>(method.responseType);
    definition[method.name] = {
      path: `/${SERVICE_NAME}/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: req.encode,
      requestDeserialize: req.decode,
      responseSerialize: res.encode,
      responseDeserialize: res.decode,
      originalName: method.name,
    };
  }
  return definition as ServiceDefinition;
}

/**
 * A copy of `value` without proto3 default scalars ('' / 0 / false / empty lists), so our bytes are the
 * canonical encoding other implementations produce (protobufjs would write a field set to its default).
 * Members of a oneof are kept: there, a default value still says which member is set.
 */
function withoutDefaults(type: protobuf.Type, value: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const v = value as Record<string, unknown>;
  for (const field of type.fieldsArray) {
    const x = v[field.name];
    if (x === undefined || x === null) continue;
    const nested = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    if (field.map) {
      const entries = Object.entries(x as Record<string, unknown>);
      if (entries.length === 0) continue;
      out[field.name] =
        nested === undefined
          ? x
          : Object.fromEntries(entries.map(([k, e]) => [k, withoutDefaults(nested, e)]));
    } else if (field.repeated) {
      const list = x as unknown[];
      if (list.length === 0) continue;
      out[field.name] = nested === undefined ? list : list.map((e) => withoutDefaults(nested, e));
    } else if (nested !== undefined) {
      out[field.name] = withoutDefaults(nested, x);
    } else if (field.resolvedType instanceof protobuf.Enum) {
      const n = typeof x === 'string' ? field.resolvedType.values[x] : x;
      if (n === undefined) throw new Error(`${type.name}.${field.name}: no enum value '${String(x)}'`);
      if (n !== 0 || field.partOf !== null) out[field.name] = n;
    } else if (field.partOf !== null || (x !== '' && x !== 0 && x !== false)) {
      out[field.name] = x;
    }
  }
  return out;
}
