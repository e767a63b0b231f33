/**
 * The gRPC messages as protobufjs hands them over (see proto.ts): snake_case fields, defaults filled,
 * int64 as numbers, bytes as Buffers, oneofs naming their member.
 */

export interface InferParameter {
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'double_param' | 'uint64_param';
  bool_param?: boolean;
  int64_param?: number;
  string_param?: string;
  double_param?: number;
  uint64_param?: number;
}

export interface InferTensorContents {
  bytes_contents: Buffer[];
  fp32_contents: number[];
  int_contents: number[];
  int64_contents: number[];
  uint_contents: number[];
  uint64_contents: number[];
  fp64_contents: number[];
  bool_contents: boolean[];
}

export interface ModelInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  parameters: Record<string, InferParameter>;
  inputs: {
    name: string;
    datatype: string;
    shape: number[];
    parameters: Record<string, InferParameter>;
    contents: InferTensorContents | null;
  }[];
  outputs: { name: string; parameters: Record<string, InferParameter> }[];
  raw_input_contents: Buffer[];
}

export interface ModelInferResponse {
  model_name: string;
  model_version: string;
  id?: string;
  parameters: Record<string, InferParameter>;
  outputs: { name: string; datatype: string; shape: number[] }[];
  raw_output_contents: Buffer[];
}

export interface NameVersionRequest {
  name: string;
  version: string;
}

export interface RepositoryParameter {
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'bytes_param';
  bool_param?: boolean;
  int64_param?: number;
  string_param?: string;
  bytes_param?: Buffer;
}

export interface RepositoryModelRequest {
  repository_name: string;
  model_name: string;
  parameters: Record<string, RepositoryParameter>;
}

export interface LogSettingValue {
  parameter_choice?: 'bool_param' | 'uint32_param' | 'string_param';
  bool_param?: boolean;
  uint32_param?: number;
  string_param?: string;
}

/** The value of a oneof parameter, whichever member is set. */
export function parameterValue(p: {
  parameter_choice?: string;
  [k: string]: unknown;
}): boolean | number | string | Buffer | undefined {
  if (p.parameter_choice === undefined) return undefined;
  return p[p.parameter_choice] as boolean | number | string | Buffer;
}
