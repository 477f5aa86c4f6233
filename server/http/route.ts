import type { z } from 'zod';
import type { Role } from '../console/roles.ts';
import type { ApiKeyRecord, ApiScope, ConsoleSessionRecord, NodeRecord, UserRecord } from '../store/records.ts';

/**
 * One HTTP endpoint, declared once: the server mounts it (mount.ts) and the OpenAPI document
 * describes it (openapi.ts) from the same schemas, so the two cannot drift apart. Who may call
 * it is part of the declaration, never decided inside a handler.
 */
export type RouteAuth =
  | { kind: 'public' }
  /**
   * An operator: an API key holding this scope, or a console session whose role grants it
   * (server/console/roles.ts; a change also needs the session's CSRF token). With
   * `members: 'own'`, a person without such a role may call it too, and sees only their own
   * machines (`viewer`).
   */
  | { kind: 'admin'; scope: ApiScope; members?: 'own' }
  /** A console session, whatever its role (the session's own endpoints). */
  | { kind: 'session' }
  /** A machine-key proof by a registered node. */
  | { kind: 'machine' }
  /** A machine-key proof by a key that may not be registered yet (registration). */
  | { kind: 'machine-unregistered' }
  /** Rate-limited per source, no credential (login hand-offs). */
  | { kind: 'public-limited' };

/** A person signed in to the console. */
export interface PersonCaller {
  kind: 'person';
  session: ConsoleSessionRecord;
  user: UserRecord;
  role: Role;
}

export type Caller =
  | { kind: 'anonymous' }
  | { kind: 'api-key'; key: ApiKeyRecord }
  | PersonCaller
  | { kind: 'machine'; machineKey: string; node?: NodeRecord };

/** What the caller may see of the machines: all of them, or only one user's own (a member). */
export type Viewer = { kind: 'all' } | { kind: 'own'; userId: string };

/** The few things a handler may do to the answer besides its body. */
export interface Reply {
  setCookie(name: 'session', token: string, maxAgeMs: number): void;
  clearCookie(name: 'session'): void;
}

interface RouteInput<B, Q> {
  body: B;
  query: Q;
  params: Record<string, string>;
  caller: Caller;
  viewer: Viewer;
  sourceIp: string;
  requestId: string;
  /** Aborted when the client goes away (long-lived answers). */
  signal: AbortSignal;
  reply: Reply;
  /** Adds to the audit event of this change (what it changed, such as a policy's access diff). */
  auditNote(text: string): void;
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
  /** `text/event-stream`: the handler answers a Response that streams server-sent events. */
  produces?: 'text/event-stream';
  /**
   * A POST that only asks a question (check, preview, explain, diff): not audited as a change.
   * Every other POST, PUT, PATCH and DELETE by an operator is.
   */
  readOnly?: true;
  /** Success status; 200 unless said. */
  status?: 200 | 201 | 204;
  handle(input: RouteInput<B, Q>): Promise<R>;
}

/** Keeps each route's own generic types while collecting them in one list. */
export function route<B, Q, R>(r: Route<B, Q, R>): Route {
  return r as unknown as Route;
}

/** The actor an audit event or a policy version names for a caller. */
export function actorOf(caller: Caller): string {
  switch (caller.kind) {
    case 'api-key':
      return `api-key:${caller.key.id}`;
    case 'person':
      return caller.user.email;
    case 'machine':
      return caller.node ? `node:${caller.node.name}` : 'machine';
    case 'anonymous':
      return 'anonymous';
  }
}
