import type { FastifyInstance } from 'fastify';
import { HttpError, badRequest } from '../http-errors.js';

/**
 * In this scope a body without any Content-Type is read as JSON: Triton's clients POST their JSON
 * (model load/unload, repository index, logging) with no Content-Type header. Any other media type
 * than JSON is still refused with a 415.
 */
export function readUntypedBodiesAsJson(scope: FastifyInstance): void {
  scope.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    const type = request.headers['content-type'];
    if (type !== undefined) {
      done(
        new HttpError(
          415,
          'ERR_UNSUPPORTED_MEDIA_TYPE',
          `Expected Content-Type application/json (or none) but received '${type.slice(0, 60)}'`,
        ),
      );
      return;
    }
    const text = body as string;
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(badRequest(`the request body is not valid JSON: ${(err as Error).message}`));
    }
  });
}
