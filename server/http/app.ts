import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { requestId } from 'hono/request-id';
import type { Logger } from 'pino';
import { TrellisError } from '../errors.ts';
import { apiSecurityHeaders, consoleSecurityHeaders } from '../console/security-headers.ts';
import type { ServerMetrics } from '../observability/metrics.ts';
import { requestClientAddress } from './client-address.ts';
import { errorHandler } from './error-handler.ts';
import { mountRoutes, type MountDeps } from './mount.ts';
import { openApiDocument } from './openapi.ts';
import type { Route } from './route.ts';

interface HttpDeps extends MountDeps {
  routes: Route[];
  logger: Logger;
  metrics: ServerMetrics;
  maxBodyBytes: number;
  /** Read when the OpenAPI document is first asked for, after the server listens. */
  publicUrl: () => string;
  health: () => { ok: boolean; detail: Record<string, unknown> };
  /** Why writes are refused now (the replica is cut off from its database), if they are. */
  writeRefusal?: () => Error | undefined;
  /** HTML pages outside the API (sign-in hand-off and callback). */
  pages?: Array<(app: Hono) => void>;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The hono application: cross-cutting middleware, the declared routes, health and metrics. */
export function createHttpApp(d: HttpDeps): Hono {
  const app = new Hono();
  app.use(requestId({ generator: () => crypto.randomUUID() }));
  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    d.metrics.requests.inc({ status: String(c.res.status) });
    d.logger.debug(
      {
        requestId: c.get('requestId'),
        source: requestClientAddress(c),
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(performance.now() - started),
      },
      'request',
    );
  });
  app.use(
    bodyLimit({
      maxSize: d.maxBodyBytes,
      onError: () => {
        throw new TrellisError(
          'too_large',
          'request.too_large',
          `the request body is larger than ${d.maxBodyBytes} bytes`,
        );
      },
    }),
  );
  app.use('/api/*', apiSecurityHeaders);
  app.use('/console', consoleSecurityHeaders);
  app.use('/console/*', consoleSecurityHeaders);
  app.onError(errorHandler(d.logger));
  // A replica cut off from its database takes no writes: it could not commit them, and its
  // cache may be stale. Reads go on (the replicas list says how stale).
  app.use('/api/*', async (c, next) => {
    if (!SAFE_METHODS.has(c.req.method)) {
      const refused = d.writeRefusal?.();
      if (refused) throw refused;
    }
    await next();
  });
  app.notFound((c) =>
    c.json(
      {
        code: 'request.no_endpoint',
        message: `no endpoint ${c.req.method} ${c.req.path}`,
        requestId: c.get('requestId') as string,
      },
      404,
    ),
  );

  app.get('/healthz', (c) => {
    const h = d.health();
    return c.json({ status: h.ok ? 'ok' : 'degraded', ...h.detail }, h.ok ? 200 : 503);
  });
  app.get('/metrics', async (c) =>
    c.text(await d.metrics.registry.metrics(), 200, { 'Content-Type': d.metrics.registry.contentType }),
  );
  let openapi: object | undefined;
  app.get('/api/v1/openapi.json', (c) => c.json((openapi ??= openApiDocument(d.routes, d.publicUrl()))));

  mountRoutes(app, d.routes, d);
  for (const mountPages of d.pages ?? []) mountPages(app);
  return app;
}
