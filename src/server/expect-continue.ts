import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

/**
 * `Expect: 100-continue` (RFC 9110 §10.1.1; curl sends it for large uploads, and any client may): the
 * interim 100 goes out only once the request has passed everything decided before its body is read —
 * authentication, the model being known and ready, room in its queue, a Content-Length within the body
 * limit. A refused client then never sends its body: under overload a 503 costs the server the headers
 * alone, and a 401 or 413 does not cost the client an upload.
 *
 * Node sends the 100 itself unless the server listens for 'checkContinue'; listening, we hand the
 * request to Fastify as any other, and send the 100 from the last hook before the body is read
 * (preParsing runs after every onRequest hook, route-level admission included). An answer sent without
 * the 100 closes the connection: the client may or may not send the body after it, so the bytes that
 * follow cannot be trusted to be the next request.
 */

const CONTINUE = /^\s*100-continue\s*$/i;

function expectsContinue(req: IncomingMessage): boolean {
  const value = req.headers.expect;
  return typeof value === 'string' && CONTINUE.test(value);
}

/** Node's own flag, set by writeContinue(); not in its typings. */
function sentContinue(res: object): boolean {
  return (res as { _sent100?: boolean })._sent100 === true;
}

export function installExpectContinue(app: FastifyInstance): void {
  app.server.on('checkContinue', (req, res) => app.server.emit('request', req, res));

  app.addHook('preParsing', async (request, reply, payload) => {
    if (!expectsContinue(request.raw) || reply.raw.headersSent || sentContinue(reply.raw)) return payload;
    // A body over the route's limit is refused by the body parser at once: no 100 for it either.
    const length = Number(request.headers['content-length']);
    const limit = request.routeOptions.bodyLimit;
    if (!(Number.isFinite(length) && limit !== undefined && length > limit)) reply.raw.writeContinue();
    return payload;
  });

  app.addHook('onSend', async (request, reply, payload) => {
    if (expectsContinue(request.raw) && !sentContinue(reply.raw)) reply.header('connection', 'close');
    return payload;
  });
}
