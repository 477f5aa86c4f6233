import type { StatusResponse, UpRequest } from '../agent/local-api/messages.ts';
import { command, parseCommand, UsageError, type FlagSpecs } from '../../cli-flags/index.ts';
import { parseProbeSpec, type RouteProbeSpec } from '../router/probe-spec.ts';
import { CREDENTIAL_PROVIDERS, credentialFrom } from './local/credentials.ts';
import { cidrList, CliError, hostname, serverFields, serverUrls, tagList } from './local/flags.ts';
import { offeredRoutesLines, routesLine } from './local/routes-line.ts';
import { exitNodeLine } from './local/exit-node-line.ts';
import { agentClient, SOCKET_FLAGS } from './local/socket.ts';
import { signInThroughAgent } from './local/sign-in.ts';
import { WORKLOAD_FLAGS, workloadFrom } from './local/workload-flags.ts';
import { EXIT_NODE_FLAGS, exitNodeRequest } from './local/exit-node-flags.ts';
import { servicesLine } from './local/services-line.ts';
import { parseServeSpec } from '../serve/serve-spec.ts';
import type { ServeSpec } from '../serve/served-services.ts';

/** Each way of signing in brings its flags (read by name, so typed loosely here). */
const CREDENTIAL_FLAGS: FlagSpecs = Object.assign({}, ...CREDENTIAL_PROVIDERS.map((p) => p.flags));

export const UP = command({
  name: 'trellis up',
  summary: 'Joins the mesh (or reconnects a node that joined before) through the running agent.',
  flags: {
    ...CREDENTIAL_FLAGS,
    server: {
      type: 'string',
      repeatable: true,
      value: 'URL',
      help: "coordination server (default: the one joined before); a server's replicas:\nrepeated or comma-separated, tried in turn (a name with several addresses: each)",
    },
    login: {
      type: 'boolean',
      help: "sign in through the server's identity provider (SSO); also renews an expired node",
    },
    device: { type: 'boolean', help: 'with --login: the device flow (enter a code on another device)' },
    provider: { type: 'string', value: 'NAME', help: "with --login: which of the server's identity providers" },
    ...WORKLOAD_FLAGS,
    hostname: { type: 'string', value: 'NAME', help: "this node's name in the mesh (default: the machine's)" },
    'advertise-routes': { type: 'string', value: 'CIDRS', help: 'subnets this node offers to route (comma-separated)' },
    'snat-subnet-routes': {
      type: 'boolean',
      negatable: true,
      help: 'masquerade mesh traffic into the advertised subnets (default true);\n=false for site-to-site, where the subnet routes the mesh ranges back to this node',
    },
    'gateway-for': {
      type: 'string',
      value: 'CIDRS',
      help: 'hosts without an agent that reach the mesh through this node: their mesh\ntraffic leaves with this node\'s mesh address (comma-separated; "" for none)',
    },
    'route-probe': {
      type: 'string',
      repeatable: true,
      value: 'PREFIX=PROBE',
      help: 'a health probe for an advertised route, checked every 500 ms:\nPREFIX=tcp:IP:PORT or PREFIX=icmp:IP (10.1.0.0/24=tcp:10.1.0.10:443); a route\nwhose probe fails loses primary; replaces the previous probes (--route-probe= for none)',
    },
    'route-priority': {
      type: 'number',
      integer: true,
      min: 0,
      max: 1000,
      help: "this router's priority for the prefixes it shares with others (higher wins;\nthe server's default 100)",
    },
    serve: {
      type: 'string',
      repeatable: true,
      value: 'NAME[=tcp:PORT]',
      help: "serve the mesh service NAME (the server's config names it) as one of its replicas:\ntake its address, which peers reach on the replica the server elects; with\ntcp:PORT, healthy only while something answers on that port there (kube=tcp:443);\nreplaces the previous list (--serve= for none)",
    },
    'accept-routes': {
      type: 'boolean',
      negatable: true,
      help: 'route the subnets other nodes offer (default false); see trellis status',
    },
    'accept-routes-force': {
      type: 'string',
      value: 'CIDRS',
      help: 'offered routes to take even though they overlap this machine\'s LAN, default\ngateway or server address (refused otherwise; "" for none)',
    },
    'advertise-tags': {
      type: 'string',
      value: 'TAGS',
      help: "tags to request (tag:a,tag:b; the policy's tagOwners decide)",
    },
    ...EXIT_NODE_FLAGS,
    timeout: {
      type: 'number',
      min: 0.1,
      max: 120,
      default: 15,
      value: 'SECONDS',
      help: 'how long to wait for the first network map',
    },
    json: { type: 'boolean', help: 'print the resulting status as JSON' },
    ...SOCKET_FLAGS,
  },
});

const { login: _login, ...LOGIN_FLAGS } = UP.flags;

/** `trellis login`: `up --login` under its own name, with every other flag of `up` (one spec). */
export const LOGIN = command({
  name: 'trellis login',
  summary:
    "Signs in through the server's identity provider (SSO) and joins or renews, through the running agent;\ntakes every flag of trellis up (routes, exit node, tags...).",
  flags: LOGIN_FLAGS,
});

type UpFlags = ReturnType<typeof parseCommand<typeof UP.flags>>['flags'];

export async function upCommand(argv: string[]): Promise<number> {
  return runUp(parseCommand(argv, UP).flags);
}

export async function loginCommand(argv: string[]): Promise<number> {
  return runUp(loginFlags(argv));
}

/** `trellis login ARGS`, read as `trellis up --login ARGS` would be. */
export function loginFlags(argv: string[]): UpFlags {
  return { ...parseCommand(argv, LOGIN).flags, login: true };
}

async function runUp(flags: UpFlags): Promise<number> {
  const { req, login } = await upRequest(flags);
  const agent = agentClient(flags);
  const status = login
    ? await signInThroughAgent(
        agent,
        {
          ...req,
          ...(flags.device && { device: true }),
          ...(flags.provider !== undefined && { provider: flags.provider }),
        },
        { write: (t) => (flags.json ? process.stderr : process.stdout).write(t) },
      )
    : await agent.up(req);
  if (flags.json) process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
  else process.stdout.write(`${describeUp(status)}\n`);
  return status.state === 'running' ? 0 : 1;
}

/** What `up` (or `login`) asks the agent for, checked. */
export async function upRequest(flags: UpFlags): Promise<{ req: UpRequest; login: boolean }> {
  const v = (
    name: 'provider' | 'hostname' | 'advertise-routes' | 'advertise-tags' | 'gateway-for' | 'accept-routes-force',
  ) => flags[name];
  const servers = serverUrls('server', flags.server.length > 0 ? flags.server : envServers(process.env));
  const credential = await credentialFrom(flags, process.env);
  const workload = workloadFrom(flags, { SPIFFE_ENDPOINT_SOCKET: process.env.SPIFFE_ENDPOINT_SOCKET });
  const login = flags.login;
  const ways = [
    credential && credential.type,
    workload && (workload.source.type === 'file' ? '--token-file' : '--workload-api'),
    login && '--login',
  ].filter(Boolean);
  if (ways.length > 1) throw new CliError(`give one way to sign in, not several (${ways.join(', ')})`, 2);
  if (!login && (flags.device || v('provider') !== undefined))
    throw new CliError(`--${flags.device ? 'device' : 'provider'} goes with --login`, 2);
  if (v('provider') !== undefined && !/^[a-z0-9][a-z0-9-]{0,62}$/.test(v('provider')!))
    throw new CliError(`--provider: "${v('provider')}" must be a provider's short lowercase name`, 2);
  const req: UpRequest = {
    ...serverFields(servers),
    ...(credential && { credential }),
    ...(workload && { workload }),
    ...(v('hostname') !== undefined && { hostname: hostname('hostname', v('hostname')!) }),
    ...(v('advertise-routes') !== undefined && {
      advertiseRoutes: cidrList('advertise-routes', v('advertise-routes')!),
    }),
    ...(v('advertise-tags') !== undefined && { advertiseTags: tagList('advertise-tags', v('advertise-tags')!) }),
    ...(flags['snat-subnet-routes'] !== undefined && { snatSubnetRoutes: flags['snat-subnet-routes'] }),
    ...(v('gateway-for') !== undefined && { gatewayFor: cidrList('gateway-for', v('gateway-for')!) }),
    ...(flags['accept-routes'] !== undefined && { acceptRoutes: flags['accept-routes'] }),
    ...(flags['route-probe'].length > 0 && { routeProbes: routeProbes(flags['route-probe']) }),
    ...(flags['route-priority'] !== undefined && { routePriority: flags['route-priority'] }),
    ...(flags.serve.length > 0 && { serve: serveSpecs(flags.serve) }),
    ...(v('accept-routes-force') !== undefined && {
      acceptRoutesForce: cidrList('accept-routes-force', v('accept-routes-force')!),
    }),
    ...exitNodeRequest(flags),
    waitMs: Math.round(flags.timeout * 1000),
  };
  return { req, login };
}

/** `--route-probe` values; one empty value clears the list. */
export function routeProbes(values: readonly string[]): RouteProbeSpec[] {
  return values
    .filter((v) => v !== '')
    .map((v) => {
      const p = parseProbeSpec(v);
      if (!p.ok) throw new UsageError('cli.bad_value', `--route-probe: ${p.error}`);
      return p.value;
    });
}

/** `--serve` values; one empty value clears the list. */
export function serveSpecs(values: readonly string[]): ServeSpec[] {
  return values
    .filter((v) => v !== '')
    .map((v) => {
      const p = parseServeSpec(v);
      if (!p.ok) throw new UsageError('cli.bad_value', `--serve: ${p.error}`);
      return p.value;
    });
}

/** What `up` prints: one fact a line, every warning on a line of its own. */
export function describeUp(s: StatusResponse): string {
  if (s.state !== 'running')
    return `not up yet (${s.state})${s.lastError ? `: ${s.lastError}` : ''}; see trellis status`;
  const self = s.self!;
  const routes = routesLine(self);
  return [
    `up: ${self.name} is ${self.ipv4} and ${self.ipv6} on ${s.connectedTo ?? s.serverUrl}`,
    `${s.peers.length} peer${s.peers.length === 1 ? '' : 's'}`,
    ...(routes ? [routes] : []),
    ...(servicesLine(self) ? [servicesLine(self)!] : []),
    ...offeredRoutesLines(s),
    ...(exitNodeLine(s) ? [exitNodeLine(s)!] : []),
    ...(s.policyWarning ? [`warning: ${s.policyWarning}`] : []),
    ...(self.user
      ? [
          `signed in as ${self.user}${s.keyExpiry ? `; the key expires ${s.keyExpiry} (renew with trellis up --login)` : ''}`,
        ]
      : []),
  ].join('\n');
}

/** TRELLIS_SERVER: a URL or a comma list of a server's replicas. */
export function envServers(env: NodeJS.ProcessEnv): string[] {
  return env.TRELLIS_SERVER ? [env.TRELLIS_SERVER] : [];
}
