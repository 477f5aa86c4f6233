import type { StatusResponse } from '../agent/local-api/messages.ts';
import { command, parseCommand } from '../../cli-flags/index.ts';
import { offeredRoutesLines, routesLine } from './local/routes-line.ts';
import { servicesLine } from './local/services-line.ts';
import { exitNodeLine } from './local/exit-node-line.ts';
import { agentClient, SOCKET_FLAGS } from './local/socket.ts';

export const STATUS = command({
  name: 'trellis status',
  summary:
    "This node, its peers, the path to each (direct ip:port or the server's relay) and its latency,\n" +
    'last handshakes and traffic (from WireGuard itself).',
  flags: { ...SOCKET_FLAGS, json: { type: 'boolean', help: 'print the status as JSON' } },
});

export async function statusCommand(argv: string[]): Promise<number> {
  const { flags } = parseCommand(argv, STATUS);
  const status = await agentClient(flags).status();
  process.stdout.write(flags.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status, new Date()));
  return status.state === 'running' ? 0 : 1;
}

export function formatStatus(s: StatusResponse, now: Date): string {
  const lines: string[] = [];
  const conn = s.connected
    ? 'connected'
    : s.state === 'running'
      ? 'server unreachable, last map in force'
      : 'not connected';
  lines.push(`state:  ${s.state} (${conn})${serverWords(s)}`);
  if (s.self)
    lines.push(
      `self:   ${s.self.name}  ${s.self.ipv4}  ${s.self.ipv6}  ${s.self.user ?? s.self.tags.join(',')}  ${s.interface}:${s.listenPort}`,
    );
  const routes = s.self && routesLine(s.self);
  if (routes) lines.push(routes);
  const services = s.self && servicesLine(s.self);
  if (services) lines.push(services);
  lines.push(...offeredRoutesLines(s));
  const exit = exitNodeLine(s);
  if (exit) lines.push(exit);
  if (s.relayTransport)
    lines.push(
      `relay:  ${s.relayTransport === 'websocket' ? 'over a WebSocket to the server (UDP to it is blocked)' : 'UDP'}`,
    );
  if (s.dns) {
    const where =
      s.dns.system === 'none'
        ? `; no systemd-resolved here: send ${s.dns.domain} to ${s.dns.server} in your resolver`
        : '';
    lines.push(`dns:    <name>.${s.dns.domain} at ${s.dns.server}${where}`);
  }
  if (s.policyWarning) lines.push(`warning: ${s.policyWarning}`);
  if (s.lastError) lines.push(`error:  ${s.lastError}`);
  if (s.signIn) lines.push(`sign in: ${s.signIn.message}`);
  else if (s.state === 'needs-login' && !s.workload) lines.push('sign in: trellis up --login (or --auth-key KEY)');
  if (s.workload)
    lines.push(
      `token:  ${s.workload.source}${s.workload.expiresAt ? `, node key expires ${s.workload.expiresAt}` : ''}${s.workload.lastError ? ` (renewal failing: ${s.workload.lastError})` : ''}`,
    );
  if (s.peers.length === 0) {
    lines.push('no peers');
    return `${lines.join('\n')}\n`;
  }
  const rows = s.peers.map((p) => [
    p.name,
    p.addresses.map((a) => a.replace(/\/(32|128)$/, '')).join(' '),
    p.user ?? p.tags.join(','),
    p.path === 'relay'
      ? s.relayTransport === 'websocket'
        ? 'relay (WebSocket)'
        : `relay ${p.endpoint}`
      : p.endpoint
        ? `direct ${p.endpoint}`
        : '-',
    p.latencyMs !== undefined ? `${p.latencyMs} ms` : '-',
    p.lastHandshake ? `${Math.max(0, Math.round((now.getTime() - Date.parse(p.lastHandshake)) / 1000))}s ago` : 'never',
    `rx ${bytes(p.rxBytes)} tx ${bytes(p.txBytes)}`,
  ]);
  const header = ['PEER', 'ADDRESSES', 'OWNER', 'PATH', 'LATENCY', 'HANDSHAKE', 'TRANSFER'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [header, ...rows])
    lines.push(
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
  return `${lines.join('\n')}\n`;
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** The server, and which of its replicas the node is on when it has several (or one name with several addresses). */
function serverWords(s: StatusResponse): string {
  const on = s.connectedTo ?? s.serverUrl;
  if (!on) return '';
  const several = (s.serverUrls?.length ?? 0) > 1;
  if (!several && on === s.serverUrl) return ` ${on}`;
  return ` ${s.connected ? 'on' : 'last on'} ${on}${several ? ` (replicas: ${s.serverUrls!.join(', ')})` : ''}`;
}
