import { command, parseCommand, usageError } from '../../cli-flags/index.ts';
import { parseAddress } from '../../protocol/ip/address.ts';
import { parsePrefix, prefixContains } from '../../protocol/ip/prefix.ts';
import type { StatusResponse } from '../agent/local-api/messages.ts';
import { addProxyContext, addSubnetContext } from '../kubeconfig/contexts.ts';
import { KubeconfigError } from '../kubeconfig/errors.ts';
import { kubeconfigPath, readKubeconfig, writeKubeconfig } from '../kubeconfig/kubeconfig-file.ts';
import { agentClient, SOCKET_FLAGS } from './local/socket.ts';

export const KUBECONFIG = command({
  name: 'trellis kubeconfig',
  summary:
    'Adds a kubectl context for a Kubernetes API proxy on the mesh (NAME: its mesh name, or the mesh\n' +
    'service its replicas serve, such as kube), holding no credential and trusting the mesh CA for\n' +
    'that name only; or, with --server, for an API server on a private subnet reached through a\n' +
    'subnet router, with your own credentials.',
  positionals: [{ name: 'NAME' }],
  flags: {
    ...SOCKET_FLAGS,
    kubeconfig: {
      type: 'string',
      value: 'PATH',
      help: 'the file to change (default: first of $KUBECONFIG, else ~/.kube/config)',
    },
    port: { type: 'number', integer: true, min: 1, max: 65535, default: 443, help: "the proxy's HTTPS port" },
    server: {
      type: 'string',
      value: 'URL',
      help: "the API server's own URL on a subnet route (https://10.0.0.1:6443); needs --from-context",
    },
    'from-context': {
      type: 'string',
      value: 'CONTEXT',
      help: 'with --server: the existing context whose CA and user (your credentials) to use',
    },
  },
  notes:
    'The proxy answers with a certificate from the mesh CA for its name; the context embeds that CA\n' +
    'as certificate-authority-data, so kubectl verifies it and trusts it for nothing else. The user\n' +
    'entry holds a placeholder, not a credential: the proxy knows you by your mesh connection.',
});

export async function kubeconfigCommand(argv: string[]): Promise<number> {
  const { flags, positionals } = parseCommand(argv, KUBECONFIG);
  const agent = agentClient(flags);
  const status = await agent.status();
  const path = kubeconfigPath(flags.kubeconfig);
  const doc = readKubeconfig(path);
  const name = positionals[0]!;
  if (flags.server !== undefined) {
    if (flags['from-context'] === undefined) {
      throw usageError('cli.missing_flag', '--server needs --from-context CONTEXT (your credentials)', KUBECONFIG.name);
    }
    const url = serverUrl(flags.server);
    const router = routerFor(status, url.hostname.replace(/^\[|\]$/g, ''));
    addSubnetContext(doc, name, url.toString().replace(/\/$/, ''), flags['from-context']);
    writeKubeconfig(path, doc);
    process.stdout.write(
      `context "${name}" in ${path}: ${url.origin}${router ? ` through ${router}` : ''}, as ${flags['from-context']}'s user\n`,
    );
    return 0;
  }
  const { domain, authorities } = await agent.authorities();
  const fqdn = meshName(status, domain, name);
  const server = addProxyContext(doc, fqdn, flags.port, authorities);
  writeKubeconfig(path, doc);
  process.stdout.write(`context "${fqdn}" in ${path}: ${server}, trusting the mesh CA, no credential\n`);
  return 0;
}

/** NAME (bare or fully qualified) as a peer's mesh name in this node's map. */
function meshName(status: StatusResponse, domain: string, name: string): string {
  const label = name
    .toLowerCase()
    .replace(/\.$/, '')
    .replace(new RegExp(`\\.${domain.replace(/\./g, '\\.')}$`), '');
  // A mesh service (the HA proxy's replicas behind one name) or a single proxy's node name.
  const services = (status.services ?? []).map((s) => s.name);
  const known = status.peers.map((p) => p.name);
  if (!known.includes(label) && !services.includes(label)) {
    throw new KubeconfigError(
      'kubeconfig.unknown_name',
      `no peer or mesh service named ${label} in this node's map (is the proxy up, and may this node reach it?); peers: ${known.join(', ') || 'none'}${services.length ? `; services: ${services.join(', ')}` : ''}`,
    );
  }
  return `${label}.${domain}`;
}

function serverUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw usageError('cli.bad_value', `--server ${text} is not a URL`, KUBECONFIG.name);
  }
  if (url.protocol !== 'https:') throw usageError('cli.bad_value', '--server must be an https:// URL', KUBECONFIG.name);
  return url;
}

/** The peer whose routes (as this node's map gives them) carry `host`, when it is an address. */
function routerFor(status: StatusResponse, host: string): string | undefined {
  const address = parseAddress(host);
  if (!address.ok) return undefined; // a DNS name: the subnet's resolver decides where it goes
  for (const peer of status.peers) {
    for (const allowed of peer.allowedIPs) {
      const p = parsePrefix(allowed);
      if (p.ok && p.value.bits > 0 && prefixContains(p.value, address.value)) return peer.name;
    }
  }
  throw new KubeconfigError(
    'kubeconfig.no_route',
    `no peer in this node's map routes ${host}: is the subnet router up with its route approved, and is this node started with --accept-routes?`,
  );
}
