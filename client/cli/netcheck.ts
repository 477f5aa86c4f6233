import { NetcheckReport, type PortProbe } from '../paths/netcheck-report.ts';
import { runNetcheck } from '../paths/netcheck.ts';
import { CliError, parseFlags, seconds, serverUrl, type Parsed } from './local/flags.ts';
import { agentClient, socketPathOf, SOCKET_FLAGS } from './local/socket.ts';

const USAGE = `usage: trellis netcheck [--server URL] [--json] [--timeout SECONDS] [--socket PATH | --state-dir DIR]
  What this network allows towards the mesh: UDP to the server's relay, whether the NAT maps by
  destination (then direct paths need an easy NAT at the peer), relay and control-server latency,
  global IPv6, and a one-line verdict. Works before joining, with --server.
  --server URL       the control server (default: the running agent's)
  --json             one JSON object instead of text
  --timeout SECONDS  the whole check's budget (default 3, at most 30)
  Exits 0 when the check ran (whatever it found), 1 when the server could not be asked.`;

export async function netcheckCommand(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, { values: ['server', 'timeout', ...SOCKET_FLAGS], switches: ['json'] }, USAGE);
  const timeoutS = seconds('timeout', flags.values.get('timeout') ?? '3', 30);
  const server = await serverOf(flags);
  const report = NetcheckReport.parse(await runNetcheck({ serverUrl: server, timeoutMs: timeoutS * 1000 }));
  process.stdout.write(flags.switches.has('json') ? `${JSON.stringify(report)}\n` : formatNetcheck(report));
  return 0;
}

/** `--server`, else the server the running agent is joined to. */
async function serverOf(flags: Parsed): Promise<string> {
  const given = flags.values.get('server');
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
