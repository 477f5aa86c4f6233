import { command, parseCommand } from '../../cli-flags/index.ts';
import { ipAddress } from './local/flags.ts';
import { agentClient, SOCKET_FLAGS } from './local/socket.ts';

export const WHOIS = command({
  name: 'trellis whois',
  summary:
    "Which node (and user or tags) owns a mesh address, and the capabilities it holds towards this node, as this node's map says.",
  positionals: [{ name: 'IP' }],
  flags: { ...SOCKET_FLAGS, json: { type: 'boolean', help: 'print the answer as JSON' } },
});

export async function whoisCommand(argv: string[]): Promise<number> {
  const { flags, positionals } = parseCommand(argv, WHOIS);
  const ip = ipAddress('IP', positionals[0]!);
  const answer = await agentClient(flags).whois(ip);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
    return 0;
  }
  const n = answer.node;
  process.stdout.write(
    [
      `${ip} is ${n.name}${n.self ? ' (this node)' : ''}`,
      `  node:      ${n.id}`,
      `  owner:     ${n.user ?? (n.tags.length ? 'tagged node (no user)' : 'unknown')}`,
      `  tags:      ${n.tags.join(', ') || '-'}`,
      `  addresses: ${n.addresses.join(', ')}`,
      ...(n.addresses.includes(n.matched) ? [] : [`  via route: ${n.matched}`]),
      ...capabilityLines(answer.capMap),
    ].join('\n') + '\n',
  );
  return 0;
}

/** One line per capability with its values as JSON, or a line saying there are none. */
function capabilityLines(capMap: Record<string, unknown[]>): string[] {
  const names = Object.keys(capMap).sort();
  if (names.length === 0) return ['  capabilities: none towards this node'];
  return ['  capabilities:', ...names.map((name) => `    ${name}: ${JSON.stringify(capMap[name])}`)];
}
