import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, toErrorReply, type HttpErrorCode } from './http-errors.js';

/**
 * Errors Fastify and Node's HTTP parser answer on their own, before our routes and error handler run,
 * reshaped to our `{error, code}` body. Their own bodies echo the URL back and carry codes clients do
 * not know (`FST_ERR_MAX_PARAM_LENGTH`).
 */

/** Fastify's `frameworkErrors`: router errors (a path parameter too long, a malformed URL). */
export function answerFrameworkError(
  error: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
): void {
  let err: unknown = error;
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    err = new HttpError(414, 'ERR_URI_TOO_LONG', 'a path parameter (model name or version) is too long');
  } else if (error.code === 'FST_ERR_BAD_URL') {
    err = new HttpError(400, 'ERR_BAD_REQUEST', 'the URL is not valid (bad percent-encoding)');
  }
  const r = toErrorReply(err);
  void reply.code(r.statusCode).type('application/json; charset=utf-8').send(r.body);
}

/**
 * Node's `clientError`: the request could not be parsed (400), its headers are too large (431), or it
 * did not arrive within headersTimeout / requestTimeout (408). The socket is closed after the answer.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  // A reset socket has nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let status = 400;
  let code: HttpErrorCode = 'ERR_BAD_REQUEST';
  let error = 'the request is not valid HTTP/1.1';
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    code = 'ERR_REQUEST_TIMEOUT';
    error = 'the request headers or body did not arrive in time';
  } else if (err.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    code = 'ERR_HEADERS_TOO_LARGE';
    error = 'the request headers are too large';
  }
  const body = JSON.stringify({ error, code });
  const reason = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }[
    status
  ];
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
