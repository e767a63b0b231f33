/** KServe v2 (Open Inference Protocol) request/response shapes, as they travel in JSON. */

export interface InferInputTensor {
  name: string;
  shape: number[];
  datatype: string;
  parameters?: { binary_data_size?: number; [k: string]: unknown };
  data?: unknown;
}

export interface InferRequestedOutput {
  name: string;
  parameters?: { binary_data?: boolean; [k: string]: unknown };
}

/** Request-level parameters we understand (the rest are ignored, as KServe allows). */
export interface InferRequestParameters {
  conf?: number;
  iou?: number;
  max_det?: number;
  classes?: number[];
  agnostic?: boolean;
  /** Triton's switch: every output in binary unless it says otherwise. */
  binary_data_output?: boolean;
  [k: string]: unknown;
}

export interface InferRequestBody {
  id?: string;
  parameters?: InferRequestParameters;
  inputs: InferInputTensor[];
  outputs?: InferRequestedOutput[];
}

export interface InferOutputTensor {
  name: string;
  shape: number[];
  datatype: string;
  parameters?: { binary_data_size: number };
  data?: number[];
}

export interface InferResponseBody {
  model_name: string;
  model_version: string;
  id?: string;
  parameters?: Record<string, number>;
  outputs: InferOutputTensor[];
}

export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
  /** Not in the KServe schema (clients ignore unknown fields): says what the tensor holds. */
  description: string;
}
