import type { z } from 'zod';
import type { ApiKeyRecord, ApiScope, NodeRecord } from '../store/records.ts';

/**
 * One HTTP endpoint, declared once: the server mounts it (mount.ts) and the OpenAPI document
 * describes it (openapi.ts) from the same schemas, so the two cannot drift apart.
 */
type RouteAuth =
  | { kind: 'public' }
  /** An admin API key holding this scope (or `admin`). */
  | { kind: 'api-key'; scope: ApiScope }
  /** A machine-key proof by a registered node. */
  | { kind: 'machine' }
  /** A machine-key proof by a key that may not be registered yet (registration). */
  | { kind: 'machine-unregistered' }
  /** Rate-limited per source, no credential (login hand-offs). */
  | { kind: 'public-limited' };

export type Caller =
  | { kind: 'anonymous' }
  | { kind: 'api-key'; key: ApiKeyRecord }
  | { kind: 'machine'; machineKey: string; node?: NodeRecord };

interface RouteInput<B, Q> {
  body: B;
  query: Q;
  params: Record<string, string>;
  caller: Caller;
  sourceIp: string;
  requestId: string;
}

export interface Route<B = unknown, Q = unknown, R = unknown> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Hono-style path: `/api/v1/nodes/:id`. */
  path: string;
  summary: string;
  tag: string;
  auth: RouteAuth;
  body?: z.ZodType<B>;
  query?: z.ZodType<Q>;
  response?: z.ZodType<R>;
  /** Success status; 200 unless said. */
  status?: 200 | 201 | 204;
  handle(input: RouteInput<B, Q>): Promise<R>;
}

/** Keeps each route's own generic types while collecting them in one list. */
export function route<B, Q, R>(r: Route<B, Q, R>): Route {
  return r as unknown as Route;
}
