import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from './http-errors.js';

/** Routes marked `config: { public: true }` (health probes, the static demo page) skip the token. */
declare module 'fastify' {
  interface FastifyContextConfig {
    public?: boolean;
  }
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * Optional bearer token. When set, every request except public routes must carry
 * `Authorization: Bearer <token>`. Compared in constant time (over SHA-256 digests, so lengths leak
 * nothing either).
 */
export function installBearerAuth(app: FastifyInstance, token: string | undefined): void {
  const check = bearerCheck(token);
  if (check === undefined) return;
  app.addHook('onRequest', async (request: FastifyRequest) => {
    if (request.routeOptions.config.public === true) return;
    const refusal = check(request.headers.authorization);
    if (refusal !== undefined) throw refusal;
  });
}

/**
 * The token check shared by HTTP and gRPC (`authorization` metadata): given the Authorization value,
 * returns the error to answer with, or undefined when the token matches. Undefined when no token is set.
 */
export function bearerCheck(
  token: string | undefined,
): ((header: string | string[] | undefined) => HttpError | undefined) | undefined {
  if (token === undefined || token === '') return undefined;
  const expected = digest(token);
  return (header) => {
    const match = typeof header === 'string' ? /^Bearer[ ]+(\S+)\s*$/i.exec(header) : null;
    if (match !== null && timingSafeEqual(digest(match[1]!), expected)) return undefined;
    return new HttpError(
      401,
      'ERR_UNAUTHORIZED',
      header === undefined
        ? 'this server requires Authorization: Bearer <token>'
        : 'the bearer token is not valid',
    );
  };
}
