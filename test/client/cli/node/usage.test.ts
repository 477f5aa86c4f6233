/** The node commands on the shared flag parser: `--help` on each, one-line usage errors, exit codes. */
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { HelpRequested, parseCommand, UsageError } from '../../../../cli-flags/index.ts';
import { agentCommand } from '../../../../client/cli/agent.ts';
import { downCommand } from '../../../../client/cli/down.ts';
import { netcheckCommand } from '../../../../client/cli/netcheck.ts';
import { pingCommand } from '../../../../client/cli/ping.ts';
import { statusCommand } from '../../../../client/cli/status.ts';
import { loginCommand, loginFlags, UP, upCommand, upRequest } from '../../../../client/cli/up.ts';
import { whoisCommand } from '../../../../client/cli/whois.ts';
import { TRELLIS_BIN } from '../../../e2e/mesh/repo.ts';

function trellis(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node', [TRELLIS_BIN, ...args], { timeout: 20_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const COMMANDS: Array<[string, (argv: string[]) => Promise<number>, RegExp]> = [
  ['agent', agentCommand, /^usage: trellis agent \[options\]\n(.|\n)*--relay-transport auto\|udp\|websocket/],
  ['up', upCommand, /^usage: trellis up \[options\]\n(.|\n)*--auth-key KEY(.|\n)*--token-file PATH/],
  [
    'login',
    loginCommand,
    /^usage: trellis login \[options\]\n(.|\n)*--advertise-routes CIDRS(.|\n)*--route-priority(.|\n)*--exit-node/,
  ],
  ['down', downCommand, /^usage: trellis down \[options\]\n(.|\n)*--state-dir DIR/],
  ['status', statusCommand, /^usage: trellis status \[options\]\n(.|\n)*--json/],
  ['ping', pingCommand, /^usage: trellis ping PEER \[options\]\n(.|\n)*--count N +probes to send \(default 3\)/],
  ['whois', whoisCommand, /^usage: trellis whois IP \[options\]/],
  ['netcheck', netcheckCommand, /^usage: trellis netcheck \[options\]\n(.|\n)*Exits 0 when the check ran/],
];

describe('trellis node commands', () => {
  for (const [name, run, usage] of COMMANDS) {
    it(`${name} --help shows its own usage and runs nothing`, async () => {
      const err = await run(['--help']).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HelpRequested);
      expect((err as HelpRequested).usage).toMatch(usage);
    });

    it(`${name} refuses an unknown flag in one line`, async () => {
      const err = await run(['--bogus']).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UsageError);
      expect(err).toMatchObject({
        code: 'cli.unknown_flag',
        message: `unknown flag --bogus for \`trellis ${name}\`; see \`trellis ${name} --help\``,
      });
    });
  }

  it('check values as the declaration says', async () => {
    await expect(pingCommand(['web', '--tcp', '70000'])).rejects.toThrow(
      '--tcp: "70000" must be a whole number from 1 to 65535',
    );
    await expect(agentCommand(['--mtu', '1000'])).rejects.toThrow('--mtu: "1000" must be a whole number from 1280');
    await expect(upCommand(['--hostname', 'a', '--hostname', 'b'])).rejects.toThrow('--hostname given twice');
  });
});

describe('trellis login', () => {
  it("takes up's router and exit-node flags and asks the agent for the same as up --login", async () => {
    const argv = [
      '--advertise-routes',
      '10.9.0.0/24,fd00:9::/64',
      '--snat-subnet-routes=false',
      '--route-priority',
      '300',
      '--route-probe',
      '10.9.0.0/24=tcp:10.9.0.10:443',
      '--accept-routes',
      '--advertise-exit-node',
      '--provider',
      'corp',
    ];
    const login = await upRequest(loginFlags(argv));
    expect(login.login).toBe(true);
    expect(login.req).toMatchObject({
      advertiseRoutes: ['10.9.0.0/24', 'fd00:9::/64'],
      snatSubnetRoutes: false,
      routePriority: 300,
      routeProbes: [{ prefix: '10.9.0.0/24', probe: { kind: 'tcp', target: '10.9.0.10:443' } }],
      acceptRoutes: true,
      advertiseExitNode: true,
    });
    expect(login.req).toEqual((await upRequest(parseCommand(['--login', ...argv], UP).flags)).req);
  });

  it('refuses what up refuses, in the same words', async () => {
    await expect(loginCommand(['--route-priority', '5000'])).rejects.toThrow(
      '--route-priority: "5000" must be a whole number from 0 to 1000',
    );
    await expect(loginCommand(['--advertise-exit-node', '--exit-node', 'auto'])).rejects.toThrow(
      '--advertise-exit-node and --exit-node: an exit node cannot use one',
    );
    // --login is what login means; it is not a flag of its own there.
    await expect(loginCommand(['--login'])).rejects.toThrow('unknown flag --login for `trellis login`');
  });
});

describe('the trellis process', () => {
  it('prints a command usage on stdout and exits 0 for --help', async () => {
    const r = await trellis(['status', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: trellis status /);
    expect(r.stdout).not.toContain('netcheck');
  });

  it('prints one line on stderr and exits 2 for an unknown flag, a bad value or an unknown command', async () => {
    for (const [args, line] of [
      [['status', '--bogus'], 'unknown flag --bogus for `trellis status`; see `trellis status --help`'],
      [['ping', 'web', '--count', 'x'], '--count: "x" must be a whole number from 1 to 1000 for `trellis ping`'],
      [['frob'], 'unknown command "frob" for `trellis`; see `trellis --help`'],
    ] as const) {
      const r = await trellis([...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toEqual([expect.stringContaining(line)]);
    }
  });

  it('lists the commands for --help, and on stderr with exit 2 when given none', async () => {
    const help = await trellis(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: trellis COMMAND \.\.\.\n(.|\n)* {2}policy check\|fmt/);
    const none = await trellis([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe(help.stdout);
  });
});
