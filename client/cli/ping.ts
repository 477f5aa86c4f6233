import { isIP } from 'node:net';
import type { StatusResponse } from '../agent/local-api/messages.ts';
import { icmpProbe, tcpProbe, type ProbeResult } from './local/probe.ts';
import { command, parseCommand } from '../../cli-flags/index.ts';
import { CliError } from './local/flags.ts';
import { agentClient, SOCKET_FLAGS } from './local/socket.ts';

export const PING = command({
  name: 'trellis ping',
  summary:
    'Probes a peer (by name or mesh IP) over the mesh and prints the round-trip time and the path the\n' +
    "packets took: direct to the peer's ip:port, or through the server's relay.",
  positionals: [{ name: 'PEER' }],
  flags: {
    tcp: {
      type: 'number',
      integer: true,
      min: 1,
      max: 65535,
      value: 'PORT',
      help: 'a TCP connection attempt instead of an ICMP echo (works where ICMP is filtered)',
    },
    count: { type: 'number', integer: true, min: 1, max: 1000, default: 3, help: 'probes to send' },
    timeout: { type: 'number', min: 0.1, max: 60, default: 2, value: 'SECONDS', help: 'per probe' },
    '6': { type: 'boolean', help: "use the peer's IPv6 address" },
    ...SOCKET_FLAGS,
  },
});

export async function pingCommand(argv: string[]): Promise<number> {
  const { flags, positionals } = parseCommand(argv, PING);
  const { tcp, count, timeout: timeoutS } = flags;
  const agent = agentClient(flags);
  const status = await agent.status();
  const { name, ip } = resolvePeer(positionals[0]!, status, flags['6']);
  const pathTo = async () => {
    const now = await agent.status().catch(() => status);
    return describePath(
      now.peers.find((p) => p.name === name),
      now.relayTransport,
    );
  };
  let answered = 0;
  for (let i = 0; i < count; i++) {
    const r: ProbeResult = tcp === undefined ? await icmpProbe(ip, timeoutS) : await tcpProbe(ip, tcp, timeoutS);
    const via = tcp === undefined ? 'ICMP' : `TCP ${tcp}${r.ok && r.detail ? ` ${r.detail}` : ''}`;
    if (r.ok) {
      answered += 1;
      process.stdout.write(`pong from ${name} (${ip}) via ${via} in ${r.ms.toFixed(1)} ms${await pathTo()}\n`);
    } else {
      process.stdout.write(`no answer from ${name} (${ip}) via ${via}: ${r.reason}\n`);
    }
  }
  return answered > 0 ? 0 : 1;
}

/** `, direct 198.51.100.2:41641` or `, through the relay 203.0.113.5:3478`; empty for a route target. */
export function describePath(
  peer: StatusResponse['peers'][number] | undefined,
  transport?: StatusResponse['relayTransport'],
): string {
  if (!peer?.endpoint) return '';
  if (peer.path !== 'relay') return `, direct ${peer.endpoint}`;
  return transport === 'websocket' ? ', through the relay (over a WebSocket)' : `, through the relay ${peer.endpoint}`;
}

function resolvePeer(arg: string, status: StatusResponse, v6: boolean): { name: string; ip: string } {
  const bare = (a: string) => a.replace(/\/\d+$/, '');
  const peer = status.peers.find((p) => p.name === arg || p.addresses.map(bare).includes(arg));
  if (peer) {
    if (isIP(arg)) return { name: peer.name, ip: arg };
    const ip = peer.addresses.map(bare).find((a) => isIP(a) === (v6 ? 6 : 4));
    if (!ip) throw new CliError(`${peer.name} has no IPv${v6 ? 6 : 4} address`, 1);
    return { name: peer.name, ip };
  }
  if (isIP(arg)) return { name: arg, ip: arg }; // e.g. an address behind a subnet route
  const names = status.peers.map((p) => p.name).join(', ');
  throw new CliError(
    `no peer named "${arg}" in this node's map${names ? ` (peers: ${names})` : ' (it has no peers)'}`,
    1,
  );
}
