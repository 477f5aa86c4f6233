import { ipAddress, parseFlags } from './local/flags.ts';
import { agentClient, SOCKET_FLAGS } from './local/socket.ts';

const USAGE = `usage: trellis whois IP [--json] [--socket PATH | --state-dir DIR]
  Which node (and user or tags) owns a mesh address, as this node's map says.`;

export async function whoisCommand(argv: string[]): Promise<number> {
  const flags = parseFlags(
    argv,
    { values: [...SOCKET_FLAGS], switches: ['json'], positional: { min: 1, max: 1, names: 'IP' } },
    USAGE,
  );
  const ip = ipAddress('IP', flags.positional[0]!);
  const answer = await agentClient(flags).whois(ip);
  if (flags.switches.has('json')) {
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
    ].join('\n') + '\n',
  );
  return 0;
}
