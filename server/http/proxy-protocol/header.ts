import type { ServerCode } from '../../error-codes.ts';

/**
 * What a load balancer says about a connection it forwards, in the PROXY protocol's header
 * (https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt): who the client is. The parsers
 * answer with values, never throw: a header is input from the network.
 */
export interface ProxyEndpoint {
  /** Canonical text (protocol/ip/address.ts). */
  readonly address: string;
  readonly port: number;
}

export interface ProxyHeader {
  readonly version: 1 | 2;
  /**
   * `proxy`: relayed for a client. `local`: the proxy speaking for itself (its health checks) or
   * a client it cannot name (v1 `UNKNOWN`, v2 `AF_UNSPEC`): the connection's own address stands.
   */
  readonly command: 'proxy' | 'local';
  /** The client, with `proxy` and a named address family. */
  readonly source?: ProxyEndpoint;
  readonly destination?: ProxyEndpoint;
  /** Bytes the header took: what follows belongs to the connection's own protocol. */
  readonly length: number;
}

export type ProxyProtocolCode = Extract<ServerCode, `proxy_protocol.${string}`>;

export type HeaderRead =
  /** What came so far is the start of a valid header: wait for more. */
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'refused'; readonly code: ProxyProtocolCode; readonly message: string }
  | { readonly kind: 'header'; readonly header: ProxyHeader };

export const INCOMPLETE: HeaderRead = { kind: 'incomplete' };

export const refused = (code: ProxyProtocolCode, message: string): HeaderRead => ({ kind: 'refused', code, message });

/** The first bytes as a message shows them: hex, so control characters cannot forge log lines. */
export function hexStart(bytes: Uint8Array, max = 16): string {
  return Buffer.from(bytes.subarray(0, max)).toString('hex') + (bytes.length > max ? '…' : '');
}
