import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { KubeRequestEvent } from '../../protocol/node-audit.ts';
import type { Caller } from './caller.ts';
import { isHeaderSafe } from './capability.ts';
import { KubeProxyError } from './errors.ts';
import type { Forwarder } from './forwarder.ts';
import { requestedImpersonation, upstreamHeaders, type Identity } from './headers.ts';
import { impersonationFor } from './impersonation.ts';
import { sendStatus, sendStatusOnSocket } from './kube-status.ts';
import { requestInfo, type RequestInfo } from './request-info.ts';

export type KubeProxyMode = 'auth' | 'noauth';

export interface KubeProxyOptions {
  mode: KubeProxyMode;
  callers: { identify(address: string): Promise<Caller> };
  forwarder: Forwarder;
  audit: { record(event: KubeRequestEvent): void };
  /** How the proxy is named in refusals (its tag, the `dst` of the grant to add). */
  proxyName: string;
  logger: Logger;
}

/**
 * One request through the proxy, in four steps:
 *  1. who: the caller from the connection's source address, through the local agent's map;
 *  2. as whom: auth mode impersonates the caller's login with the groups its capability
 *     grants (narrowed by the request, never widened); noauth passes the caller's own credential;
 *  3. forward: headers rewritten (headers.ts), the body and answer streamed (forwarder.ts);
 *  4. audit: one event per request, when its status is known.
 * A refusal in 1 or 2 is answered as a Kubernetes Status and audited like any other request.
 */
export class KubeProxy {
  constructor(private readonly o: KubeProxyOptions) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const address = sourceAddress(req);
    const info = requestInfo(req.method ?? 'GET', req.url ?? '/');
    let caller: Caller | undefined;
    try {
      caller = await this.o.callers.identify(address);
      const identity = this.identity(caller, req);
      const headers = upstreamHeaders(req, this.withCredential(identity), this.o.forwarder.hostHeader, address);
      const who = caller;
      this.o.forwarder.http(req, res, headers, (status) => this.audit(who, address, info, identity, status));
    } catch (err) {
      const refusal = this.refusal(err);
      this.audit(caller, address, info, undefined, refusal.status, refusal.code);
      req.resume();
      sendStatus(res, refusal.status, refusal.code, refusal.message);
    }
  }

  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const address = sourceAddress(req);
    const info = requestInfo(req.method ?? 'GET', req.url ?? '/');
    let caller: Caller | undefined;
    try {
      caller = await this.o.callers.identify(address);
      const identity = this.identity(caller, req);
      const headers = upstreamHeaders(req, this.withCredential(identity), this.o.forwarder.hostHeader, address);
      const who = caller;
      this.o.forwarder.upgrade(req, socket, head, headers, (status) =>
        this.audit(who, address, info, identity, status),
      );
    } catch (err) {
      const refusal = this.refusal(err);
      this.audit(caller, address, info, undefined, refusal.status, refusal.code);
      sendStatusOnSocket(socket, refusal.status, refusal.code, refusal.message);
    }
  }

  private identity(caller: Caller, req: IncomingMessage): Identity {
    if (this.o.mode === 'noauth') return { mode: 'noauth' };
    const { user, groups, skipped } = impersonationFor(caller, requestedImpersonation(req), this.o.proxyName);
    if (skipped.length > 0)
      this.o.logger.warn({ caller: caller.login, skipped }, 'capability values that cannot be used were skipped');
    if (!isHeaderSafe(user))
      throw new KubeProxyError(
        'kube_proxy.unknown_caller',
        `the login ${JSON.stringify(user)} of ${caller.address} cannot be sent as a Kubernetes user name`,
        403,
      );
    return { mode: 'auth', user, groups };
  }

  /** The proxy's own credential, read per request (a rotated token file is picked up). */
  private withCredential(identity: Identity): Identity {
    if (identity.mode === 'noauth') return identity;
    const authorization = this.o.forwarder.authorization();
    return authorization === undefined ? identity : { ...identity, authorization };
  }

  private refusal(err: unknown): { status: number; code: string; message: string } {
    if (err instanceof KubeProxyError) return { status: err.status, code: err.code, message: err.message };
    this.o.logger.error({ err }, 'kube-proxy request failed');
    return { status: 500, code: 'agent.internal', message: 'the proxy failed on this request; its log says why' };
  }

  private audit(
    caller: Caller | undefined,
    address: string,
    info: RequestInfo,
    identity: Identity | undefined,
    status: number,
    code?: string,
  ): void {
    const clip = (s: string | undefined, n = 253) => (s === undefined || s === '' ? undefined : s.slice(0, n));
    this.o.audit.record({
      kind: 'kube.request',
      caller: {
        login: clip(caller?.login, 320) ?? 'unknown',
        nodeId: clip(caller?.nodeId, 64) ?? 'unknown',
        nodeName: clip(caller?.nodeName) ?? 'unknown',
        address,
      },
      ...(identity?.mode === 'auth' && { groups: identity.groups.slice(0, 64) }),
      verb: info.verb.slice(0, 32),
      resource: info.resource,
      ...(clip(info.apiGroup) && { apiGroup: clip(info.apiGroup) }),
      ...(clip(info.namespace) && { namespace: clip(info.namespace) }),
      ...(clip(info.name) && { name: clip(info.name) }),
      status,
      ...(code && { code }),
      mode: this.o.mode,
    });
  }
}

/** The TCP source, as the kernel saw it: the only thing about a caller the proxy believes. */
function sourceAddress(req: IncomingMessage): string {
  const raw = req.socket.remoteAddress ?? '';
  return raw.startsWith('::ffff:') && raw.includes('.') ? raw.slice(7) : raw;
}
