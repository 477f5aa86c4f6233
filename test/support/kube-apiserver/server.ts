import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { parse as parseYaml } from 'yaml';
import { applyPatch } from './apply.ts';
import { authenticate, type Account, type RequestUser } from './authn.ts';
import { API_GROUPS, API_VERSIONS, AUTHN_V1, CORE_V1, VERSION } from './discovery.ts';
import { acceptsExec, runExec } from './exec.ts';
import { runSpdyExec, spdyExecVersion } from './exec-spdy.ts';
import { portForwardTransport, runPortForward, type PodPorts } from './portforward.ts';
import { ObjectStore, RESOURCES, type KubeObject, type WatchEvent } from './objects.ts';
import { authorize, type Access, type Rule } from './rbac.ts';
import { resourceRoute, verbOf, type ResourceRoute } from './routes.ts';
import { ApiError, sendError, sendJson, statusObject } from './status.ts';
import { table, wantsTable } from './table.ts';

/**
 * A STAND-IN for the Kubernetes API server, for tests only: no Kubernetes API server is packaged
 * for this machine. It is honest about what it checks, which is what the proxy depends on:
 * TLS; bearer-token authentication; impersonation accepted only from an account allowed to
 * impersonate (the proxy's); RBAC decided by the effective (impersonated) user and groups;
 * discovery enough for kubectl 1.32; namespaces, pods and configmaps with get, list, watch
 * (streamed in chunks), create, delete, server-side apply and merge patches; pod logs (with
 * follow); exec and attach over WebSocket and over SPDY/3.1; port-forward (SPDY/3.1, in a WebSocket or not);
 * SelfSubjectReview. See README.md for what it does not do.
 */
export interface KubeApiServerOptions {
  cert: string;
  key: string;
  /** Bearer token -> account. */
  accounts: Record<string, Account>;
  rules: Rule[];
  host?: string;
  port?: number;
  now?: () => number;
  /** `NAMESPACE/POD:PORT` -> `HOST:PORT`: where port-forward reaches a pod's port (no pod network here). */
  podPorts?: PodPorts;
  /** Called with each decided request, as it is added to `seen`. */
  onSeen?: (seen: SeenRequest) => void;
}

/** What the stand-in saw and decided for a request, as its own audit log. */
export interface SeenRequest {
  user: string;
  groups: string[];
  impersonatedBy?: string;
  verb: string;
  resource: string;
  namespace?: string;
  name?: string;
  status: number;
}

const MAX_BODY = 3 * 1024 * 1024;

export class KubeApiServer {
  readonly seen: SeenRequest[] = [];
  readonly store: ObjectStore;
  /** Where port-forward reaches pods' ports; a test may add to it while the server runs. */
  readonly podPorts: PodPorts;
  private readonly accounts: Map<string, Account>;
  private readonly now: () => number;
  private readonly sockets = new Set<Duplex>();

  private constructor(
    private readonly server: Server,
    private readonly o: KubeApiServerOptions,
  ) {
    this.now = o.now ?? Date.now;
    this.store = new ObjectStore(this.now);
    this.accounts = new Map(Object.entries(o.accounts));
    this.podPorts = { ...o.podPorts };
    seed(this.store);
  }

  static async start(o: KubeApiServerOptions): Promise<KubeApiServer> {
    const server = createServer({ cert: o.cert, key: o.key, requestTimeout: 0 });
    const api = new KubeApiServer(server, o);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void api.handle(req, res));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => api.upgrade(req, socket, head));
    server.on('connection', (s: Duplex) => {
      api.sockets.add(s);
      s.once('close', () => api.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? 0, o.host ?? '127.0.0.1', resolve);
    });
    return api;
  }

  get url(): string {
    const a = this.server.address() as AddressInfo;
    return `https://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let who: RequestUser | undefined;
    let access: Access | undefined;
    try {
      who = authenticate(req, this.accounts);
      const url = new URL(req.url ?? '/', 'https://stand-in');
      const route = resourceRoute(url.pathname);
      if (!route) {
        access = { verb: (req.method ?? 'GET').toLowerCase(), resource: url.pathname, apiGroup: '' };
        const answer = await this.nonResource(req, url.pathname, who);
        this.note(who, access, answer.status);
        return sendJson(res, answer.status, answer.body);
      }
      const watch = /^(1|true)$/.test(url.searchParams.get('watch') ?? '');
      access = {
        verb: verbOf(req.method ?? 'GET', route, watch),
        resource: route.sub ? `${route.type.resource}/${route.sub}` : route.type.resource,
        apiGroup: '',
        ...(route.namespace !== undefined && { namespace: route.namespace }),
        ...(route.name !== undefined && { name: route.name }),
      };
      authorize(who, access, this.o.rules);
      if (route.sub === 'exec' || route.sub === 'attach' || route.sub === 'portforward')
        throw new ApiError(400, 'Upgrade request required', 'BadRequest');
      if (route.sub === 'log') return this.logs(req, res, route, url, who, access);
      if (route.sub !== undefined)
        throw new ApiError(404, 'the server could not find the requested resource', 'NotFound');
      if (watch) return this.watch(req, res, route, url, who, access);
      const { status, body } = await this.resource(req, route, url);
      this.note(who, access, status);
      sendJson(res, status, body);
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(500, `stand-in failure: ${(err as Error).message}`);
      if (who && access) this.note(who, access, e.status);
      req.resume();
      if (!res.headersSent) sendError(res, e);
      else res.destroy();
    }
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    let who: RequestUser | undefined;
    let access: Access | undefined;
    try {
      who = authenticate(req, this.accounts);
      const url = new URL(req.url ?? '/', 'https://stand-in');
      const route = resourceRoute(url.pathname);
      if (!route?.name || (route.sub !== 'exec' && route.sub !== 'attach' && route.sub !== 'portforward'))
        throw new ApiError(400, `no upgrade at ${url.pathname}`, 'BadRequest');
      access = {
        verb: 'create',
        resource: `pods/${route.sub}`,
        apiGroup: '',
        namespace: route.namespace!,
        name: route.name,
      };
      authorize(who, access, this.o.rules);
      this.store.get(route.type, route.namespace, route.name);
      if (route.sub === 'portforward') {
        if (!portForwardTransport(req))
          throw new ApiError(
            400,
            'port-forward needs an upgrade to SPDY/3.1 (X-Stream-Protocol-Version: portforward.k8s.io) or to a WebSocket with subprotocol SPDY/3.1+portforward.k8s.io',
            'BadRequest',
          );
        this.note(who, access, 101);
        const prefix = `${route.namespace}/${route.name}:`;
        return runPortForward(req, socket, head, route.name, (port) => this.podPorts[prefix + port]);
      }
      const websocket = req.headers.upgrade?.toLowerCase() === 'websocket' && acceptsExec(req);
      if (!websocket && !spdyExecVersion(req))
        throw new ApiError(
          400,
          `${route.sub} needs an upgrade to a WebSocket (v5/v4.channel.k8s.io) or to SPDY/3.1 (X-Stream-Protocol-Version v4.channel.k8s.io down to channel.k8s.io)`,
          'BadRequest',
        );
      const command = route.sub === 'exec' ? url.searchParams.getAll('command') : ['cat'];
      if (command.length === 0) throw new ApiError(400, 'you must specify at least 1 command', 'BadRequest');
      this.note(who, access, 101);
      if (websocket) runExec(req, socket, head, route.name, command);
      else runSpdyExec(req, socket, head, route.name, command, url.searchParams);
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(500, `stand-in failure: ${(err as Error).message}`);
      if (who && access) this.note(who, access, e.status);
      const body = JSON.stringify(statusObject(e.status, e.message, e.reason));
      socket.end(
        `HTTP/1.1 ${e.status} ${e.reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    }
  }

  private async nonResource(
    req: IncomingMessage,
    path: string,
    who: RequestUser,
  ): Promise<{ status: number; body: unknown }> {
    const get = req.method === 'GET';
    if (get && path === '/version') return { status: 200, body: VERSION };
    if (get && path === '/api') return { status: 200, body: API_VERSIONS };
    if (get && path === '/api/v1') return { status: 200, body: CORE_V1 };
    if (get && path === '/apis') return { status: 200, body: API_GROUPS };
    if (get && path === '/apis/authentication.k8s.io/v1') return { status: 200, body: AUTHN_V1 };
    if (req.method === 'POST' && path === '/apis/authentication.k8s.io/v1/selfsubjectreviews') {
      await readBody(req);
      return {
        status: 201,
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'SelfSubjectReview',
          metadata: { creationTimestamp: null },
          status: {
            userInfo: {
              username: who.user,
              groups: who.groups,
              ...(who.uid !== undefined && { uid: who.uid }),
              ...(who.extra && { extra: who.extra }),
            },
          },
        },
      };
    }
    throw new ApiError(404, 'the server could not find the requested resource', 'NotFound');
  }

  private async resource(
    req: IncomingMessage,
    route: ResourceRoute,
    url: URL,
  ): Promise<{ status: number; body: unknown }> {
    const { type, namespace, name } = route;
    if (req.method === 'GET' && name === undefined) {
      let items = this.store.list(type, namespace);
      const only = nameSelector(url);
      if (only !== undefined) items = items.filter((o) => o.metadata.name === only);
      const rv = this.store.resourceVersion;
      if (wantsTable(req.headers.accept)) return { status: 200, body: table(type.kind, items, this.now(), rv) };
      return {
        status: 200,
        body: { kind: `${type.kind}List`, apiVersion: 'v1', metadata: { resourceVersion: rv }, items },
      };
    }
    if (req.method === 'GET') {
      const o = this.store.get(type, namespace, name!);
      return {
        status: 200,
        body: wantsTable(req.headers.accept) ? table(type.kind, [o], this.now(), this.store.resourceVersion) : o,
      };
    }
    if (req.method === 'POST' && name === undefined) {
      const body = parseObject(await readBody(req), req.headers['content-type']);
      return { status: 201, body: this.store.create(type, this.complete(route, body)) };
    }
    if (req.method === 'DELETE' && name !== undefined)
      return { status: 200, body: this.store.delete(type, namespace, name) };
    if (req.method === 'PATCH' && name !== undefined) return this.patch(req, route, url);
    throw new ApiError(405, `the server does not allow this method on the requested resource`, 'MethodNotAllowed');
  }

  private async patch(
    req: IncomingMessage,
    route: ResourceRoute,
    url: URL,
  ): Promise<{ status: number; body: unknown }> {
    const { type, namespace, name } = route as Required<Pick<ResourceRoute, 'name'>> & ResourceRoute;
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    const text = await readBody(req);
    const current = this.store.find(type, namespace, name);
    if (contentType === 'application/apply-patch+yaml') {
      const manager = url.searchParams.get('fieldManager');
      if (!manager)
        throw new ApiError(
          422,
          'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
          'Invalid',
        );
      const patch = this.complete(route, parseObject(text, 'application/yaml'));
      if (patch.metadata.name !== name)
        throw new ApiError(
          400,
          `the name of the object (${patch.metadata.name}) does not match the name on the URL (${name})`,
        );
      const next = applyPatch(current, patch, manager, url.searchParams.get('force') === 'true');
      return current
        ? { status: 200, body: this.store.replace(next) }
        : { status: 201, body: this.store.create(type, next) };
    }
    if (contentType === 'application/merge-patch+json' || contentType === 'application/strategic-merge-patch+json') {
      if (!current) throw new ApiError(404, `${type.resource} "${name}" not found`, 'NotFound');
      const merged = mergePatch(current, parseObject(text, 'application/json')) as KubeObject;
      return {
        status: 200,
        body: this.store.replace({
          ...merged,
          metadata: { ...merged.metadata, name, ...(namespace && { namespace }) },
        }),
      };
    }
    throw new ApiError(
      415,
      `the body of the request was in an unknown format - accepted media types include: application/apply-patch+yaml, application/merge-patch+json, application/strategic-merge-patch+json`,
      'UnsupportedMediaType',
    );
  }

  /** A new object's kind, namespace and (for pods, with no kubelet here) running status. */
  private complete(route: ResourceRoute, o: KubeObject): KubeObject {
    if (o.kind !== route.type.kind)
      throw new ApiError(400, `the kind ${String(o.kind)} does not match ${route.type.resource}`);
    if (typeof o.metadata?.name !== 'string' || !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(o.metadata.name))
      throw new ApiError(
        422,
        `${route.type.kind} "${String(o.metadata?.name)}" is invalid: metadata.name: Invalid value`,
        'Invalid',
      );
    if (route.type.namespaced) {
      if (o.metadata.namespace !== undefined && o.metadata.namespace !== route.namespace)
        throw new ApiError(
          400,
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      o = { ...o, metadata: { ...o.metadata, namespace: route.namespace! } };
    }
    if (o.kind === 'Pod') o = { ...o, status: { phase: 'Running' } };
    return o;
  }

  private watch(
    req: IncomingMessage,
    res: ServerResponse,
    route: ResourceRoute,
    url: URL,
    who: RequestUser,
    access: Access,
  ): void {
    const asTable = wantsTable(req.headers.accept);
    const only = nameSelector(url);
    const since = Number(url.searchParams.get('resourceVersion') ?? '0') || 0;
    const matches = (o: KubeObject) =>
      o.kind === route.type.kind &&
      (route.namespace === undefined || o.metadata.namespace === route.namespace) &&
      (only === undefined || o.metadata.name === only);
    let first = true;
    const send = (type: string, object: KubeObject) => {
      const body = asTable
        ? table(route.type.kind, [object], this.now(), object.metadata.resourceVersion ?? '', first)
        : object;
      first = false;
      res.write(`${JSON.stringify({ type, object: body })}\n`);
    };
    // A too-old resourceVersion is refused (410) before the answer starts.
    const from = since === 0 ? Number(this.store.resourceVersion) : since;
    const events: WatchEvent[] = [];
    let live = false;
    const unsubscribe = this.store.watch(from, (e) => {
      if (!matches(e.object)) return;
      if (live) send(e.type, e.object);
      else events.push(e);
    });
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    this.note(who, access, 200);
    if (since === 0) for (const o of this.store.list(route.type, route.namespace)) if (matches(o)) send('ADDED', o);
    for (const e of events) send(e.type, e.object);
    live = true;
    const timeout = Number(url.searchParams.get('timeoutSeconds') ?? '0');
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    res.on('close', () => {
      clearTimeout(timer);
      unsubscribe();
    });
  }

  private logs(
    req: IncomingMessage,
    res: ServerResponse,
    route: ResourceRoute,
    url: URL,
    who: RequestUser,
    access: Access,
  ): void {
    const pod = this.store.get(route.type, route.namespace, route.name!).metadata.name;
    res.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' });
    this.note(who, access, 200);
    res.write(`${pod}: started\n`);
    if (url.searchParams.get('follow') !== 'true') return void res.end();
    let n = 0;
    const timer = setInterval(() => res.write(`${pod}: tick ${++n}\n`), 100);
    res.on('close', () => clearInterval(timer));
  }

  private note(who: RequestUser, access: Access, status: number): void {
    const seen: SeenRequest = {
      user: who.user,
      groups: who.groups,
      ...(who.impersonatedBy !== undefined && { impersonatedBy: who.impersonatedBy }),
      verb: access.verb,
      resource: access.resource,
      ...(access.namespace !== undefined && { namespace: access.namespace }),
      ...(access.name !== undefined && { name: access.name }),
      status,
    };
    this.seen.push(seen);
    this.o.onSeen?.(seen);
  }
}

function seed(store: ObjectStore): void {
  const [ns, pods, cms] = RESOURCES;
  for (const name of ['default', 'kube-system'])
    store.create(ns!, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  for (const name of ['web-1', 'web-2'])
    store.create(pods!, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default', labels: { app: 'web' } },
      spec: { containers: [{ name: 'app', image: 'stand-in/app:1' }] },
      status: { phase: 'Running' },
    });
  store.create(cms!, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'app-config', namespace: 'default' },
    data: { mode: 'demo' },
  });
}

function nameSelector(url: URL): string | undefined {
  const m = /^metadata\.name=(.+)$/.exec(url.searchParams.get('fieldSelector') ?? '');
  return m?.[1];
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw new ApiError(413, 'the request body is too large', 'RequestEntityTooLarge');
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseObject(text: string, contentType: string | undefined): KubeObject {
  let o: unknown;
  try {
    o = /yaml/.test(contentType ?? '') ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new ApiError(400, `the request body is not valid: ${(err as Error).message}`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o) || typeof (o as KubeObject).metadata !== 'object')
    throw new ApiError(400, 'the request body is not a Kubernetes object (no metadata)');
  return o as KubeObject;
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}
