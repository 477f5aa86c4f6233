import { group, selectCommand, usageOutcome } from '../../cli-flags/index.ts';

/** The commands as `trellis --help` lists them; each one's own flags load with it. */
const TRELLIS = group({
  name: 'trellis',
  summary: 'The Trellis agent, and the commands that drive it and the policy.',
  commands: {
    agent: { synopsis: '[--state-dir DIR] [--server URL] [options]', summary: 'run the agent (foreground)' },
    up: {
      synopsis: '--server URL --auth-key KEY | --login | --token-file PATH [options]',
      summary: 'join the mesh (or reconnect), with a key, SSO, or as a workload',
    },
    login: {
      synopsis: '[--device] [--provider NAME] [up options]',
      summary: 'sign in through SSO (trellis up --login), with the flags of up',
    },
    down: { synopsis: '', summary: 'disconnect; remove interface, routes, rules' },
    status: { synopsis: '[--json]', summary: 'this node and its peers' },
    ping: { synopsis: 'PEER [--tcp PORT]', summary: 'probe a peer over the mesh' },
    whois: { synopsis: 'IP', summary: 'which node, user or tags own a mesh IP' },
    netcheck: { synopsis: '[--server URL] [--json]', summary: 'UDP reachability, NAT kind, relay latency' },
    cert: { synopsis: '[NAME...] --cert-file PATH --key-file PATH', summary: 'a TLS certificate from the mesh CA' },
    kubeconfig: {
      synopsis: 'NAME [--server URL --from-context CTX]',
      summary: 'a kubectl context for a Kubernetes API proxy (or subnet API server)',
    },
    policy: { synopsis: 'check|fmt|compile|eval|diff|apply ...', summary: 'policy-as-code tools' },
    'kube-proxy': {
      synopsis: '--tls-cert PATH --tls-key PATH [--kubeconfig PATH] [--mode auth|noauth]',
      summary: 'serve the Kubernetes API to mesh peers, as themselves',
    },
  },
});

type Command = (argv: string[]) => Promise<number>;

/** Node commands load on demand: `trellis status` should not pay for the policy compiler. */
const node =
  (load: () => Promise<Command>): Command =>
  async (argv) => {
    const { CliError } = await import('./policy/io.ts');
    try {
      return await (
        await load()
      )(argv);
    } catch (err) {
      const usage = usageOutcome(err);
      if (usage) {
        process[usage.stream].write(`${usage.text}\n`);
        return usage.exitCode;
      }
      if (err instanceof CliError) {
        (err.exitCode === 0 ? process.stdout : process.stderr).write(`${err.message}\n`);
        return err.exitCode;
      }
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && err instanceof Error) {
        process.stderr.write(`trellis: ${err.message} [${code}]\n`);
        return 1;
      }
      throw err;
    }
  };

const COMMANDS: Record<keyof typeof TRELLIS.commands, Command> = {
  policy: async (argv) => (await import('./policy/index.ts')).policyCommand(argv),
  agent: node(async () => (await import('./agent.ts')).agentCommand),
  up: node(async () => (await import('./up.ts')).upCommand),
  login: node(async () => (await import('./up.ts')).loginCommand),
  down: node(async () => (await import('./down.ts')).downCommand),
  status: node(async () => (await import('./status.ts')).statusCommand),
  ping: node(async () => (await import('./ping.ts')).pingCommand),
  whois: node(async () => (await import('./whois.ts')).whoisCommand),
  netcheck: node(async () => (await import('./netcheck.ts')).netcheckCommand),
  'kube-proxy': node(async () => (await import('./kube-proxy.ts')).kubeProxyCommand),
  cert: node(async () => (await import('./cert.ts')).certCommand),
  kubeconfig: node(async () => (await import('./kubeconfig.ts')).kubeconfigCommand),
};

/** The `trellis` CLI: dispatches to each command's own module. */
export async function main(argv: string[]): Promise<number> {
  let picked;
  try {
    picked = selectCommand(argv, TRELLIS);
  } catch (err) {
    const usage = usageOutcome(err);
    if (!usage) throw err;
    process[usage.stream].write(`${usage.text}\n`);
    return usage.exitCode;
  }
  return COMMANDS[picked.name](picked.rest);
}
