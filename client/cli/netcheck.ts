import { NetcheckReport, type PortProbe } from '../paths/netcheck-report.ts';
import { runNetcheck } from '../paths/netcheck.ts';
import { command, parseCommand } from '../../cli-flags/index.ts';
import { CliError, serverUrl } from './local/flags.ts';
import { agentClient, socketPathOf, SOCKET_FLAGS, type SocketFlags } from './local/socket.ts';

export const NETCHECK = command({
  name: 'trellis netcheck',
  summary:
    "What this network allows towards the mesh: UDP to the server's relay, whether the NAT maps by\n" +
    'destination (then direct paths need an easy NAT at the peer), relay and control-server latency,\n' +
    'global IPv6, and a one-line verdict. Works before joining, with --server.',
  flags: {
    server: { type: 'string', value: 'URL', help: "the control server (default: the running agent's)" },
    json: { type: 'boolean', help: 'one JSON object instead of text' },
    timeout: { type: 'number', min: 0.1, max: 30, default: 3, value: 'SECONDS', help: "the whole check's budget" },
    ...SOCKET_FLAGS,
  },
  notes: 'Exits 0 when the check ran (whatever it found), 1 when the server could not be asked.',
});

export async function netcheckCommand(argv: string[]): Promise<number> {
  const { flags } = parseCommand(argv, NETCHECK);
  const server = await serverOf(flags);
  const report = NetcheckReport.parse(await runNetcheck({ serverUrl: server, timeoutMs: flags.timeout * 1000 }));
  process.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : formatNetcheck(report));
  return 0;
}

/** `--server`, else the server the running agent is joined to. */
async function serverOf(flags: SocketFlags & { server?: string | undefined }): Promise<string> {
  const given = flags.server;
  if (given !== undefined) return serverUrl('server', given);
  let status;
  try {
    status = await agentClient(flags).status();
  } catch (err) {
    throw new CliError(
      `no --server given, and no agent answers at ${socketPathOf(flags)} (${(err as Error).message}); give --server URL`,
      2,
    );
  }
  if (!status.serverUrl)
    throw new CliError('no --server given, and the agent has not joined a server yet; give --server URL', 2);
  return status.serverUrl;
}

export function formatNetcheck(r: NetcheckReport): string {
  const yesNo = (b: boolean | null) => (b === null ? 'unknown' : b ? 'yes' : 'no');
  const ms = (v: number | null) => (v === null ? '-' : `${v.toFixed(1)} ms`);
  const port = (p: PortProbe | null) =>
    p === null
      ? 'none on this server'
      : `${p.target} ${p.mapped ? `sees ${p.mapped}, ${ms(p.rttMs)} (${p.answered}/${p.sent} answered)` : `no answer (${p.sent} sent)`}`;
  const udp =
    r.udp.reachable === null
      ? 'not checked (the server runs no UDP relay)'
      : r.udp.reachable
        ? 'reachable'
        : 'blocked (no STUN answer)';
  const rows: Array<[string, string]> = [
    ['server', r.server],
    ['UDP', udp],
    ['  relay port', port(r.udp.relayPort)],
    ['  STUN port', port(r.udp.stunPort)],
    [
      'mapping varies',
      `${yesNo(r.udp.mappingVariesByDestination)}${r.udp.mappingVariesByDestination ? ' (the NAT maps by destination: hard NAT)' : ''}`,
    ],
    ['behind NAT', yesNo(r.udp.behindNat)],
    ['relay latency', `${ms(r.relayLatencyMs)} (STUN round trip)`],
    [
      'control latency',
      `${ms(r.control.tcpLatencyMs)} (TCP connect; the WebSocket relay ${r.control.wsPath} goes this way)`,
    ],
    ['global IPv6', yesNo(r.ipv6.global)],
    ['verdict', r.verdict.text],
  ];
  return rows.map(([k, v]) => `${`${k}:`.padEnd(17)}${v}\n`).join('');
}
