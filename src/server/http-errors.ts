import { YoloTrtError, type ErrorCode } from '../errors.js';

/**
 * Codes the server answers with besides the library's own (src/errors.ts). Like those, they are part of
 * the API: clients branch on `code`, so never rename one.
 */
export type ServerErrorCode =
  /** The request is malformed: schema violation, bad JSON, inconsistent tensor. */
  | 'ERR_BAD_REQUEST'
  /** No route, no model of that name, or no such version. */
  | 'ERR_NOT_FOUND'
  /** Missing or wrong bearer token. */
  | 'ERR_UNAUTHORIZED'
  /** The body (or one multipart file, or a compressed body once decompressed) is larger than the limit. */
  | 'ERR_BODY_TOO_LARGE'
  /** The Content-Type is not one this route accepts. */
  | 'ERR_UNSUPPORTED_MEDIA_TYPE'
  /** The Content-Encoding of the request body is not identity, gzip or deflate (415). */
  | 'ERR_UNSUPPORTED_ENCODING'
  /** A path parameter (model name, version) is longer than the router accepts (414). */
  | 'ERR_URI_TOO_LONG'
  /** The request headers are larger than the server accepts (431, answered before routing). */
  | 'ERR_HEADERS_TOO_LARGE'
  /** The client did not send its headers or body within the server's timeouts (408). */
  | 'ERR_REQUEST_TIMEOUT'
  /** A repository path resolves outside --model-repository. */
  | 'ERR_PATH_OUTSIDE_REPOSITORY'
  /** The model is known but has no ready version (loading, unloaded, or its load failed). */
  | 'ERR_MODEL_NOT_READY'
  /** The model's queue is full: retry later (503 + Retry-After). */
  | 'ERR_QUEUE_FULL'
  /** The request waited longer than the model's request timeout. */
  | 'ERR_TIMEOUT'
  /** The server is shutting down. */
  | 'ERR_SHUTTING_DOWN'
  /** The client went away before its result was ready (never sent: nobody is listening). */
  | 'ERR_CLIENT_CLOSED'
  /** A model's candidate version cannot be served as configured (not served, or no primary left) (400). */
  | 'ERR_CANDIDATE_INVALID'
  /** Promote or rollback of a model that has no candidate version now (409). */
  | 'ERR_NO_CANDIDATE';

export type HttpErrorCode = ServerErrorCode | ErrorCode;

/** An error with the HTTP status and stable code it is answered with. */
export class HttpError extends Error {
  readonly statusCode: number;
  readonly code: HttpErrorCode;
  /** Seconds, for 503s: sent as Retry-After. */
  readonly retryAfter: number | undefined;

  constructor(
    statusCode: number,
    code: HttpErrorCode,
    message: string,
    options?: { cause?: unknown; retryAfter?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpError';
    this.statusCode = statusCode;
    this.code = code;
    this.retryAfter = options?.retryAfter;
  }
}

/** HTTP status of each library error code: client mistakes are 4xx, only our own failures are 5xx. */
const STATUS_OF_LIBRARY_CODE: Readonly<Record<ErrorCode, number>> = {
  ERR_INVALID_OPTION: 400,
  ERR_MODEL_NOT_FOUND: 404,
  ERR_MODEL_INVALID: 400,
  ERR_MODEL_UNSUPPORTED: 400,
  ERR_TASK_UNSUPPORTED: 400,
  ERR_MODEL_LOAD: 400,
  ERR_INFERENCE: 500,
  ERR_BAD_IMAGE: 400,
  ERR_UNSUPPORTED_FORMAT: 415,
  ERR_IMAGE_TOO_LARGE: 413,
  ERR_IMAGE_NOT_FOUND: 400,
  // A request raced an unload/swap past its lease: the client may simply retry.
  ERR_DISPOSED: 503,
  ABORT_ERR: 499,
  ERR_BACKEND_UNAVAILABLE: 400,
  ERR_NO_CUDA_DRIVER: 400,
  ERR_CUDA: 500,
  ERR_ENGINE_INCOMPATIBLE: 400,
  ERR_NATIVE_LOAD: 500,
  // Dataset and source errors come from val/stream, which the server does not offer.
  ERR_DATASET: 400,
  ERR_SOURCE: 400,
  ERR_FFMPEG_NOT_FOUND: 500,
  ERR_PROFILE_INVALID: 400,
  ERR_PROFILE_MODEL_MISMATCH: 400,
  ERR_INTERNAL: 500,
};

/** Fastify's and @fastify/multipart's own error codes that are the client's doing. */
const FRAMEWORK_CODES: Readonly<Record<string, [number, ServerErrorCode]>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'ERR_BODY_TOO_LARGE'],
  FST_REQ_FILE_TOO_LARGE: [413, 'ERR_BODY_TOO_LARGE'],
  FST_FILES_LIMIT: [413, 'ERR_BODY_TOO_LARGE'],
  FST_PARTS_LIMIT: [413, 'ERR_BODY_TOO_LARGE'],
  FST_FIELDS_LIMIT: [413, 'ERR_BODY_TOO_LARGE'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'ERR_UNSUPPORTED_MEDIA_TYPE'],
  FST_INVALID_MULTIPART_CONTENT_TYPE: [415, 'ERR_UNSUPPORTED_MEDIA_TYPE'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'ERR_BAD_REQUEST'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'ERR_BAD_REQUEST'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'ERR_BAD_REQUEST'],
  FST_PROTO_VIOLATION: [400, 'ERR_BAD_REQUEST'],
};

/** Our code for a 4xx status raised by the framework with a code we do not list above. */
const CODE_OF_CLIENT_STATUS: Readonly<Record<number, ServerErrorCode>> = {
  400: 'ERR_BAD_REQUEST',
  404: 'ERR_NOT_FOUND',
  408: 'ERR_REQUEST_TIMEOUT',
  413: 'ERR_BODY_TOO_LARGE',
  414: 'ERR_URI_TOO_LONG',
  415: 'ERR_UNSUPPORTED_MEDIA_TYPE',
  431: 'ERR_HEADERS_TOO_LARGE',
};

export interface ErrorReply {
  statusCode: number;
  body: { error: string; code: string };
  retryAfter: number | undefined;
}

/**
 * Turns anything thrown while handling a request into the status and `{error, code}` body we answer
 * with. Unknown errors are 500 with a generic message: their text may carry paths or internals.
 */
export function toErrorReply(err: unknown): ErrorReply {
  if (err instanceof HttpError) {
    return {
      statusCode: err.statusCode,
      body: { error: err.message, code: err.code },
      retryAfter: err.retryAfter,
    };
  }
  if (err instanceof YoloTrtError) {
    const statusCode = STATUS_OF_LIBRARY_CODE[err.code] ?? 500;
    const error = statusCode >= 500 ? `${err.code}: internal error (see the server log)` : err.message;
    return { statusCode, body: { error, code: err.code }, retryAfter: statusCode === 503 ? 1 : undefined };
  }
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown; validation?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (e?.validation !== undefined) {
    return { statusCode: 400, body: { error: message, code: 'ERR_BAD_REQUEST' }, retryAfter: undefined };
  }
  const known = typeof e?.code === 'string' ? FRAMEWORK_CODES[e.code] : undefined;
  if (known !== undefined) {
    return { statusCode: known[0], body: { error: message, code: known[1] }, retryAfter: undefined };
  }
  // Other framework errors that are the client's doing (JSON.parse errors from fastify's parser carry
  // statusCode 400 and no code of ours): keep the status, give it our code.
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const code = CODE_OF_CLIENT_STATUS[e.statusCode] ?? 'ERR_BAD_REQUEST';
    return { statusCode: e.statusCode, body: { error: message, code }, retryAfter: undefined };
  }
  if (e?.statusCode === 503) {
    return { statusCode: 503, body: { error: message, code: 'ERR_SHUTTING_DOWN' }, retryAfter: 1 };
  }
  return {
    statusCode: 500,
    body: { error: 'internal server error (see the server log)', code: 'ERR_INTERNAL' },
    retryAfter: undefined,
  };
}

export const badRequest = (message: string): HttpError => new HttpError(400, 'ERR_BAD_REQUEST', message);
