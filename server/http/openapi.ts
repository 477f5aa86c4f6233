import { z } from 'zod';
import { ErrorBody } from '../../protocol/errors.ts';
import type { Route } from './route.ts';

/** Builds the OpenAPI 3.1 document from the declared routes. */
export function openApiDocument(routes: readonly Route[], serverUrl: string): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const r of routes) {
    const path = r.path.replace(/:(\w+)/g, '{$1}');
    const params = [...r.path.matchAll(/:(\w+)/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const query = r.query ? queryParams(r.query) : [];
    const status = String(r.status ?? 200);
    (paths[path] ??= {})[r.method] = {
      summary: r.summary,
      tags: [r.tag],
      ...(security(r) && { security: security(r) }),
      parameters: [...params, ...query],
      ...(r.body && {
        requestBody: { required: true, content: { 'application/json': { schema: schemaOf(r.body) } } },
      }),
      responses: {
        [status]: r.produces
          ? {
              description: 'a stream of server-sent events',
              content: { [r.produces]: { schema: r.response ? schemaOf(r.response) : {} } },
            }
          : r.response && status !== '204'
            ? { description: 'success', content: { 'application/json': { schema: schemaOf(r.response) } } }
            : { description: 'success' },
        default: { description: 'error', content: { 'application/json': { schema: schemaOf(ErrorBody) } } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Trellis coordination server', version: '1' },
    servers: [{ url: serverUrl }],
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'trellis-api-<id>-<secret>' },
        consoleSession: {
          type: 'apiKey',
          in: 'cookie',
          name: 'trellis_console',
          description:
            'A console session (sign in at /console/login; the cookie is __Host-trellis_console over https). Its role grants the scopes (admin: all; network-admin: read, policy, routes; auditor: read); a change also needs the X-CSRF-Token header from GET /api/v1/console/session.',
        },
        machineProof: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: 'Trellis-Proof v1.<machineKey>.<ms>.<nonce>.<sig>',
        },
      },
    },
    paths,
  };
}

function security(r: Route): object[] | undefined {
  if (r.auth.kind === 'admin') return [{ apiKey: [r.auth.scope] }, { consoleSession: [r.auth.scope] }];
  if (r.auth.kind === 'session') return [{ consoleSession: [] }];
  if (r.auth.kind === 'machine' || r.auth.kind === 'machine-unregistered') return [{ machineProof: [] }];
  return undefined;
}

function schemaOf(schema: z.ZodType): object {
  return z.toJSONSchema(schema, { unrepresentable: 'any', io: 'input' }) as object;
}

function queryParams(schema: z.ZodType): object[] {
  const json = schemaOf(schema) as { properties?: Record<string, object>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({
    name,
    in: 'query',
    required: json.required?.includes(name) ?? false,
    schema: s,
  }));
}
