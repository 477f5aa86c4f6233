import { chmodSync, writeFileSync } from 'node:fs';
import { command, parseCommand } from '../../cli-flags/index.ts';
import { agentClient, SOCKET_FLAGS } from './local/socket.ts';

export const CERT = command({
  name: 'trellis cert',
  summary:
    "Writes a TLS certificate from the mesh CA for this node's mesh name (or NAME..., a service it\n" +
    'may serve) and its key, for a local service such as `trellis kube-proxy --tls-cert/--tls-key`.',
  positionals: [{ name: 'NAME', optional: true, variadic: true }],
  flags: {
    ...SOCKET_FLAGS,
    'cert-file': { type: 'string', value: 'PATH', required: true, help: 'where the PEM certificate goes' },
    'key-file': { type: 'string', value: 'PATH', required: true, help: 'where the PEM private key goes (mode 0600)' },
    'ca-file': { type: 'string', value: 'PATH', help: "where the mesh CA's certificates go (for clients)" },
  },
  notes:
    'The key is made by the agent and never leaves this machine. The certificate lives a day (the\n' +
    "server's pki.certificateSeconds); run this again after the renewAfter time it prints, or let\n" +
    "the service ask the agent's local API (POST /v1/certificate), which renews by itself.",
});

export async function certCommand(argv: string[]): Promise<number> {
  const { flags, positionals } = parseCommand(argv, CERT);
  const names = positionals.map((n) => n.toLowerCase().replace(/\.$/, ''));
  const answer = await agentClient(flags).certificate(names.length > 0 ? names : undefined);
  writeFileSync(flags['key-file'], answer.key, { mode: 0o600 });
  chmodSync(flags['key-file'], 0o600);
  writeFileSync(flags['cert-file'], answer.certificate);
  if (flags['ca-file'] !== undefined) writeFileSync(flags['ca-file'], answer.authorities.join(''));
  process.stdout.write(
    `certificate for ${answer.names.join(', ')} in ${flags['cert-file']} (key ${flags['key-file']}), ` +
      `valid until ${answer.notAfter}; renew after ${answer.renewAfter}\n`,
  );
  return 0;
}
