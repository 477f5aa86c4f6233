import type { ClientCode } from '../error-codes.ts';
import { lookup } from 'node:dns/promises';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { performance } from 'node:perf_hooks';
import { RelayInfo } from '../../protocol/map.ts';
import { CodedError } from '../../protocol/coded-error.ts';
import { hasGlobalIpv6, localAddresses } from './netcheck-ipv6.ts';
import type { NetcheckReport, PortProbe } from './netcheck-report.ts';
import { verdictOf } from './netcheck-verdict.ts';
import { probeStun, type StunTargetResult } from './stun-probe.ts';

/**
 * What this machine's network allows towards the mesh, within one time budget:
 *  1. the relay's ports and WebSocket path from the control server (`GET /api/v1/relay/info`)
 *  2. at once: STUN from one fresh UDP socket to the relay port and the STUN port, and TCP
 *     connects to the control server (the WebSocket relay's path)
 *  3. the verdict from the mappings seen (reachable? same mapping for both destinations?)
 */
export type NetcheckErrorCode = ClientCode<'netcheck'>;

export class NetcheckError extends CodedError<NetcheckErrorCode> {
  override readonly name = 'NetcheckError';
}

export interface NetcheckOptions {
  serverUrl: string;
  /** The whole check's budget, in ms. */
  timeoutMs: number;
}

/** Settings fetch takes at most this share of the budget; the probes get the rest. */
const INFO_SHARE = 0.5;
/** Kept back from the budget for closing sockets and printing. */
const MARGIN_MS = 30;

export async function runNetcheck(options: NetcheckOptions): Promise<NetcheckReport> {
  const started = performance.now();
  const deadline = started + options.timeoutMs - MARGIN_MS;
  const url = new URL(options.serverUrl);
  const info = await fetchRelayInfo(options.serverUrl, options.timeoutMs * INFO_SHARE);

  const controlHost = await resolve(url.hostname.replace(/^\[|\]$/g, ''));
  const relayHost = info.endpoint ? splitEndpoint(info.endpoint).host : controlHost;
  const targets = [
    ...(info.udpPort > 0 ? [{ address: relayHost, port: info.udpPort }] : []),
    ...(info.udpPort > 0 && info.stunPort ? [{ address: relayHost, port: info.stunPort }] : []),
  ];
  const controlPort = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  const [probes, tcpMs] = await Promise.all([
    probeStun(targets, { deadlineMs: deadline - performance.now() }),
    tcpLatency(controlHost, controlPort, deadline),
  ]);

  const relayPort = probes[0] ? portProbe(probes[0]) : null;
  const stunPort = probes[1] ? portProbe(probes[1]) : null;
  const answered = [relayPort, stunPort].filter((p): p is PortProbe & { mapped: string } => p?.mapped != null);
  const interfaces = networkInterfaces();
  const local = localAddresses(interfaces);
  const udp: NetcheckReport['udp'] = {
    reachable: relayPort === null ? null : answered.length > 0,
    relayPort,
    stunPort,
    mappingVariesByDestination: answered.length === 2 ? answered[0]!.mapped !== answered[1]!.mapped : null,
    behindNat: answered.length > 0 ? !local.has(splitEndpoint(answered[0]!.mapped).host) : null,
  };
  return {
    server: options.serverUrl,
    udp,
    relayLatencyMs: relayPort?.rttMs ?? null,
    control: { tcpLatencyMs: tcpMs, wsPath: info.wsPath },
    ipv6: { global: hasGlobalIpv6(interfaces) },
    verdict: verdictOf(udp),
    elapsedMs: round(performance.now() - started),
  };
}

async function fetchRelayInfo(serverUrl: string, timeoutMs: number): Promise<RelayInfo> {
  const where = `${serverUrl}/api/v1/relay/info`;
  let res: Response;
  try {
    res = await fetch(where, { signal: AbortSignal.timeout(Math.max(1, timeoutMs)) });
  } catch (err) {
    const why = (err as Error).name === 'TimeoutError' ? `no answer within ${Math.round(timeoutMs)} ms` : describe(err);
    throw new NetcheckError('netcheck.server_unreachable', `cannot reach the control server at ${serverUrl}: ${why}`, {
      cause: err,
    });
  }
  const body: unknown = await res.json().catch(() => undefined);
  const info = RelayInfo.safeParse(body);
  if (!res.ok || !info.success) {
    throw new NetcheckError(
      'netcheck.bad_answer',
      `${where} answered ${res.status} without relay settings (a Trellis server too old for netcheck, or not Trellis)`,
    );
  }
  return info.data;
}

async function resolve(host: string): Promise<string> {
  try {
    return (await lookup(host)).address;
  } catch (err) {
    throw new NetcheckError(
      'netcheck.server_unreachable',
      `cannot resolve the control server's host "${host}": ${describe(err)}`,
      { cause: err },
    );
  }
}

/** Median of three TCP connects (one round trip each); null when none completes in time. */
async function tcpLatency(host: string, port: number, deadline: number): Promise<number | null> {
  const times: number[] = [];
  for (let i = 0; i < 3 && performance.now() < deadline; i++) {
    const ms = await tcpConnect(host, port, deadline - performance.now());
    if (ms === undefined) break;
    times.push(ms);
  }
  return median(times);
}

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<number | undefined> {
  return new Promise((done) => {
    const start = performance.now();
    const socket = connect({ host, port });
    const finish = (ms: number | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      done(ms);
    };
    const timer = setTimeout(() => finish(undefined), Math.max(0, timeoutMs));
    socket.once('connect', () => finish(performance.now() - start));
    socket.once('error', () => finish(undefined));
  });
}

function portProbe(r: StunTargetResult): PortProbe {
  const m = r.mapped[0];
  return {
    target: endpoint(r.target.address, r.target.port),
    sent: r.sent,
    answered: r.mapped.length,
    mapped: m ? endpoint(m.address, m.port) : null,
    rttMs: median(r.rttsMs),
  };
}

function splitEndpoint(ep: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(ep);
  return m ? { host: m[1]!, port: Number(m[2]) } : { host: ep, port: 0 };
}

const endpoint = (ip: string, port: number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
const round = (ms: number) => Math.round(ms * 10) / 10;
const describe = (err: unknown) => {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
};

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return round(s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2);
}
