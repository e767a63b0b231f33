import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { DEMO_PAGE_CSP, demoPageHtml } from '../demo-page.js';
import { errorResponses } from '../kserve/schemas.js';

/** `GET /metrics` (Prometheus text) and `GET /` (the demo page). */
export function registerMiscRoutes(
  app: FastifyInstance,
  ctx: ServerContext,
  options: { demoPage: boolean; base: string },
): void {
  app.get(
    '/metrics',
    { schema: { response: { 200: { type: 'string' }, ...errorResponses } } },
    async (_request, reply) => {
      reply.type(ctx.metrics.contentType);
      return ctx.metrics.render();
    },
  );

  if (!options.demoPage) return;
  const page = demoPageHtml(options.base);
  app.get(
    '/',
    { config: { public: true }, schema: { response: { 200: { type: 'string' }, ...errorResponses } } },
    async (_request, reply) => {
      reply
        .type('text/html; charset=utf-8')
        .header('content-security-policy', DEMO_PAGE_CSP)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .header('cache-control', 'no-cache');
      return page;
    },
  );
}
