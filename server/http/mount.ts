import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, Hono } from 'hono';
import type { AuditLog } from '../audit/audit-log.ts';
import type { CallerAuth } from './caller-auth.ts';
import type { RateLimiter } from './rate-limit.ts';
import type { Caller, Route } from './route.ts';
import { check, parseBody } from './validate.ts';

export interface MountDeps {
  auth: CallerAuth;
  authLimiter: RateLimiter;
  now: () => number;
  /** Records refused API keys and registration proofs, and every admin change. */
  audit?: AuditLog;
}

/** Wires declared routes into hono: authenticate, validate, call, answer. */
export function mountRoutes(app: Hono, routes: readonly Route[], deps: MountDeps): void {
  for (const r of routes) {
    app.on(r.method.toUpperCase(), r.path, async (c) => {
      const raw = new Uint8Array(await c.req.arrayBuffer());
      const sourceIp = sourceAddress(c);
      const action = `${r.method.toUpperCase()} ${c.req.path}`;
      const caller = await authenticate(r, c, raw, sourceIp, deps).catch(async (err) => {
        if (r.auth.kind === 'api-key' || r.auth.kind === 'machine-unregistered') {
          await deps.audit?.failure(
            { kind: 'auth', method: r.auth.kind === 'api-key' ? 'api-key' : 'machine-proof', source: sourceIp },
            err,
            action,
          );
        }
        throw err;
      });
      const handled = async () => {
        const body = r.body ? parseBody(r.body, raw) : undefined;
        const query = r.query ? check(r.query, c.req.query(), 'query') : undefined;
        return r.handle({
          body,
          query,
          params: c.req.param() as Record<string, string>,
          caller,
          sourceIp,
          requestId: c.get('requestId') as string,
        });
      };
      // Every change an administrator makes is audited, whether it worked or not.
      const audited = caller.kind === 'api-key' && r.method !== 'get' && deps.audit;
      const who = {
        kind: 'admin' as const,
        method: 'api-key',
        actor: caller.kind === 'api-key' ? `api-key:${caller.key.id}` : undefined,
        source: sourceIp,
      };
      const result = audited
        ? await handled().then(
            async (value) => {
              await deps.audit!.record({
                ...who,
                outcome: 'success',
                code: action,
                message: `${r.summary}: ${action}`,
              });
              return value;
            },
            async (err) => {
              await deps.audit!.failure(who, err, action);
              throw err;
            },
          )
        : await handled();
      if (r.status === 204) return c.body(null, 204);
      return c.json(result as object, r.status ?? 200);
    });
  }
}

async function authenticate(r: Route, c: Context, raw: Uint8Array, sourceIp: string, deps: MountDeps): Promise<Caller> {
  const header = c.req.header('authorization');
  const url = new URL(c.req.url);
  const pathWithQuery = url.pathname + url.search;
  switch (r.auth.kind) {
    case 'public':
      return { kind: 'anonymous' };
    case 'public-limited':
      deps.authLimiter.take(sourceIp, deps.now());
      return { kind: 'anonymous' };
    case 'api-key':
      return { kind: 'api-key', key: await deps.auth.apiKey(header, r.auth.scope) };
    case 'machine-unregistered':
      deps.authLimiter.take(sourceIp, deps.now());
      return { kind: 'machine', ...(await deps.auth.machine(header, c.req.method, pathWithQuery, raw)) };
    case 'machine':
      return { kind: 'machine', ...(await deps.auth.registeredMachine(header, c.req.method, pathWithQuery, raw)) };
  }
}

export function sourceAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
