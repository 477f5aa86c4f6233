const USAGE = `usage: trellis COMMAND ...

  agent [--state-dir D] [--socket S] [--interface trellis0] [--server URL]
                                                 run the agent (foreground)
  up --server URL --auth-key KEY [--hostname H] [--advertise-routes CIDRS] [--advertise-tags TAGS]
                                                 join the mesh (or reconnect)
  up --login [--device] [--provider NAME]        sign in through SSO (also: trellis login)
  up --token-file PATH --credential spiffe-jwt|kubernetes
                                                 join as a workload; the agent renews as the file rotates
  down                                           disconnect; remove interface, routes, rules
  status [--json]                                this node and its peers
  ping PEER [--tcp PORT]                         probe a peer over the mesh
  whois IP                                       which node, user or tags own a mesh IP
  netcheck [--server URL] [--json]               UDP reachability, NAT kind, relay latency
  policy check|fmt|compile|eval|diff|apply ...   policy-as-code tools (trellis policy help)

  Every command takes --help.`;

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

const COMMANDS: Record<string, Command> = {
  policy: async (argv) => (await import('./policy/index.ts')).policyCommand(argv),
  agent: node(async () => (await import('./agent.ts')).agentCommand),
  up: node(async () => (await import('./up.ts')).upCommand),
  login: node(async () => async (argv) => (await import('./up.ts')).upCommand(['--login', ...argv])),
  down: node(async () => (await import('./down.ts')).downCommand),
  status: node(async () => (await import('./status.ts')).statusCommand),
  ping: node(async () => (await import('./ping.ts')).pingCommand),
  whois: node(async () => (await import('./whois.ts')).whoisCommand),
  netcheck: node(async () => (await import('./netcheck.ts')).netcheckCommand),
};

/** The `trellis` CLI: dispatches to each command's own module. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name === undefined ? undefined : COMMANDS[name];
  if (!command) {
    const asked = name === 'help' || name === '--help' || name === '-h';
    (asked ? process.stdout : process.stderr).write(
      `${name && !asked ? `trellis: unknown command "${name}"\n\n` : ''}${USAGE}\n`,
    );
    return asked ? 0 : 2;
  }
  return command(rest);
}
