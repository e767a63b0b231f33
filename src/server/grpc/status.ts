import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { toErrorReply } from '../http-errors.js';

/**
 * gRPC status of an error: the same error text as over HTTP, the status code a gRPC client branches on,
 * and our stable `code` in the trailing metadata (`yolo-trt-code`), so clients can tell e.g. a bad image
 * from a bad tensor shape as over HTTP.
 */

const BY_CODE: Readonly<Record<string, status>> = {
  ERR_MODEL_NOT_FOUND: status.NOT_FOUND,
  ERR_NOT_FOUND: status.NOT_FOUND,
  ERR_UNAUTHORIZED: status.UNAUTHENTICATED,
  ERR_PATH_OUTSIDE_REPOSITORY: status.PERMISSION_DENIED,
  ERR_QUEUE_FULL: status.UNAVAILABLE,
  ERR_MODEL_NOT_READY: status.UNAVAILABLE,
  ERR_SHUTTING_DOWN: status.UNAVAILABLE,
  ERR_DISPOSED: status.UNAVAILABLE,
  ERR_TIMEOUT: status.DEADLINE_EXCEEDED,
  ERR_BODY_TOO_LARGE: status.RESOURCE_EXHAUSTED,
  ERR_IMAGE_TOO_LARGE: status.RESOURCE_EXHAUSTED,
  ERR_CLIENT_CLOSED: status.CANCELLED,
  ABORT_ERR: status.CANCELLED,
};

export interface GrpcErrorReply {
  error: Partial<ServiceError>;
  /** The HTTP status the same error gets (for the log level). */
  httpStatus: number;
  code: string;
}

export function toGrpcError(err: unknown): GrpcErrorReply {
  const r = toErrorReply(err);
  const code = BY_CODE[r.body.code] ?? (r.statusCode < 500 ? status.INVALID_ARGUMENT : status.INTERNAL);
  const metadata = new Metadata();
  metadata.set('yolo-trt-code', r.body.code);
  if (r.retryAfter !== undefined) metadata.set('retry-after', String(r.retryAfter));
  return { error: { code, details: r.body.error, metadata }, httpStatus: r.statusCode, code: r.body.code };
}
