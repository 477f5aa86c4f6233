import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { Agent } from '../agent/agent.ts';
import { Engine } from '../agent/engine.ts';
import { LocalApi } from '../agent/local-api/server.ts';
import { deviceOpener } from '../agent/open-device.ts';
import { DNS_SERVICE_ADDRESS, MeshDns } from '../dns/mesh-dns.ts';
import { ExitDns } from '../exit-node/exit-dns.ts';
import { ExitGateway } from '../exit-node/gateway.ts';
import { RELAY_TRANSPORT_MODES } from '../paths/relay-transport-selector.ts';
import { isPrefix } from '../netconf/prefix.ts';
import { Forwarding } from '../router/forwarding.ts';
import { SubnetRouter } from '../router/subnet-router.ts';
import { PATH_PROBE_PORT } from '../../protocol/path-probe.ts';
import { command, parseCommand } from '../../cli-flags/index.ts';
import { cidrList, CliError, hostname, ifaceName, serverUrls } from './local/flags.ts';
import { SOCKET_FLAGS, socketPathOf, stateDirOf } from './local/socket.ts';
import { WORKLOAD_FLAGS, workloadFrom } from './local/workload-flags.ts';
import { envServers, routeProbes, serveSpecs, UP } from './up.ts';

const DEFAULT_MESH_RANGES = ['100.64.0.0/10', 'fd7a:115c:a1e0::/48'];

export const AGENT = command({
  name: 'trellis agent',
  summary:
    'Runs the agent in the foreground (for systemd, containers, or a terminal) until SIGINT/SIGTERM.\n' +
    'Stopping the agent leaves tunnels and rules in force for the next agent; `trellis down` removes them.',
  flags: {
    ...SOCKET_FLAGS,
    'socket-group': {
      type: 'string',
      value: 'GROUP',
      help: 'group (name or gid) besides root allowed to use the socket',
    },
    interface: { type: 'string', value: 'NAME', default: 'trellis0', help: 'WireGuard interface' },
    port: { type: 'number', integer: true, min: 1, max: 65535, default: 41641, help: 'WireGuard UDP port' },
    mtu: {
      type: 'number',
      integer: true,
      min: 1280,
      max: 65535,
      help: 'mesh interface MTU (default 1280, which fits inside any path; IPv6 needs at least 1280)',
    },
    server: {
      type: 'string',
      repeatable: true,
      value: 'URL',
      help: 'server for `trellis up` when it names none (or TRELLIS_SERVER); its replicas\nrepeated or comma-separated',
    },
    'mesh-ranges': {
      type: 'string',
      value: 'CIDRS',
      default: DEFAULT_MESH_RANGES.join(','),
      help: "the mesh's address ranges until the server's map names them",
    },
    wireguard: {
      type: 'string',
      choices: ['auto', 'wireguard-go'],
      default: 'auto',
      help: 'auto (kernel if present, else wireguard-go) or wireguard-go',
    },
    'relay-transport': {
      type: 'string',
      choices: RELAY_TRANSPORT_MODES,
      default: 'auto',
      help: "how WireGuard reaches the server's relay: auto (UDP, a WebSocket on the\nserver's HTTP(S) port when UDP gets no answer), udp or websocket",
    },
    dns: {
      type: 'string',
      choices: ['on', 'off'],
      default: 'on',
      help: 'answer <name>.<mesh domain> at 100.100.100.100 and route the domain there\nin systemd-resolved',
    },
    'log-level': {
      type: 'string',
      choices: ['error', 'warn', 'info', 'debug'],
      default: 'info',
      help: 'how much to log',
    },
    ...WORKLOAD_FLAGS,
    hostname: { type: 'string', value: 'NAME', help: "a workload node's name (default: the machine's, a pod's name)" },
    // A workload joining on start routes as `trellis up` would make it (a gateway pod).
    'advertise-routes': UP.flags['advertise-routes'],
    'snat-subnet-routes': UP.flags['snat-subnet-routes'],
    'gateway-for': UP.flags['gateway-for'],
    'route-probe': UP.flags['route-probe'],
    'route-priority': UP.flags['route-priority'],
    serve: UP.flags.serve,
  },
  notes:
    'A workload (sidecar, DaemonSet) joins on start, with no separate `trellis up`, given --server and\n' +
    '--token-file or --workload-api (or TRELLIS_TOKEN_FILE, TRELLIS_CREDENTIAL, TRELLIS_CLUSTER,\n' +
    'TRELLIS_WORKLOAD_API, TRELLIS_AUDIENCE in the environment); with --advertise-routes, --snat-subnet-routes,\n' +
    '--gateway-for, --route-probe and --route-priority it joins as a subnet router and gateway (the gateway pod);\n' +
    'with --serve NAME as a replica of a mesh service (the Kubernetes API proxy).',
});

export async function agentCommand(argv: string[]): Promise<number> {
  const { flags } = parseCommand(argv, AGENT);
  const stateDir = stateDirOf(flags);
  const iface = ifaceName('interface', flags.interface);
  const listenPort = flags.port;
  const mtu = flags.mtu;
  const servers = serverUrls('server', flags.server.length > 0 ? flags.server : envServers(process.env));
  const meshRanges = flags['mesh-ranges'].split(',').map((s) => s.trim());
  for (const r of meshRanges)
    if (!isPrefix(r, { bareAddress: false }))
      throw new CliError(`--mesh-ranges: "${r}" is not a CIDR prefix with host bits clear`, 2);
  const level = flags['log-level'];
  const prefer = flags.wireguard;
  const relayTransport = flags['relay-transport'];
  const dns = flags.dns === 'on';
  const gid = flags['socket-group'] === undefined ? undefined : groupId(flags['socket-group']);
  const workload = workloadFrom(flags, process.env);
  if (workload && servers.length === 0)
    throw new CliError(
      `--${workload.source.type === 'file' ? 'token-file' : 'workload-api'}: a workload joins on start, so it needs --server URL (or TRELLIS_SERVER)`,
      2,
    );
  const name = flags.hostname === undefined ? undefined : hostname('hostname', flags.hostname);
  const routing = {
    ...(flags['advertise-routes'] !== undefined && {
      advertiseRoutes: cidrList('advertise-routes', flags['advertise-routes']),
    }),
    ...(flags['snat-subnet-routes'] !== undefined && { snatSubnetRoutes: flags['snat-subnet-routes'] }),
    ...(flags['gateway-for'] !== undefined && { gatewayFor: cidrList('gateway-for', flags['gateway-for']) }),
    ...(flags['route-probe'].length > 0 && { routeProbes: routeProbes(flags['route-probe']) }),
    ...(flags['route-priority'] !== undefined && { routePriority: flags['route-priority'] }),
    ...(flags.serve.length > 0 && { serve: serveSpecs(flags.serve) }),
  };
  if (!workload && Object.keys(routing).length > 0)
    throw new CliError(
      '--advertise-routes, --snat-subnet-routes, --gateway-for, --route-probe, --route-priority and --serve here are for a workload joining on start; otherwise give them to trellis up',
      2,
    );
  if (process.getuid?.() !== 0)
    throw new CliError('trellis agent must run as root (it creates interfaces, routes and nftables rules)', 1);

  const logger = pino({ level, base: { iface } }, pino.destination(2));
  // One record of the forwarding switches, whoever holds them (subnet router, exit node).
  const forwarding = new Forwarding(join(stateDir, 'forwarding.json'));
  const engine = new Engine({
    iface,
    meshRanges,
    ...(mtu !== undefined && { mtu }),
    probePort: PATH_PROBE_PORT,
    ...(dns && { serviceAddresses: [`${DNS_SERVICE_ADDRESS}/32`] }),
    openDevice: deviceOpener({
      iface,
      prefer,
      logFile: join(stateDir, 'wireguard-go.log'),
      onEvent: (e) => logger.info({ event: e.type }, `wireguard: ${e.type}`),
    }),
    // What the node had before it forwarded is kept in the state directory, for `down` to restore.
    router: new SubnetRouter(forwarding),
    exitGateway: new ExitGateway(iface, forwarding),
    onError: (what, err) => logger.error({ err }, `${what} failed`),
  });
  const agent = new Agent({
    stateDir,
    iface,
    listenPort,
    meshRanges,
    engine,
    logger,
    relayTransport,
    ...(dns && { dns: new MeshDns(iface, logger) }),
    // Listens only while this node is an approved exit node, for the nodes that use it.
    exitDns: new ExitDns(),
    ...(servers.length > 0 && { serverUrls: servers }),
  });
  await agent.start();
  const api = new LocalApi(agent, { socketPath: socketPathOf(flags), ...(gid !== undefined && { gid }) });
  await api.listen();
  logger.info({ stateDir, listenPort }, 'agent ready');
  if (workload) void agent.joinOnStart(workload, { ...(name && { hostname: name }), ...routing });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  logger.info('agent stopping');
  await api.close();
  await agent.stop().catch((err: unknown) => logger.error({ err }, 'stopping failed'));
  // wireguard-go keeps running on purpose (see Agent.stop); its handle must not keep us alive.
  setTimeout(() => process.exit(0), 100).unref();
  return 0;
}

function groupId(group: string): number {
  if (/^\d+$/.test(group)) return Number(group);
  const line = readFileSync('/etc/group', 'utf8')
    .split('\n')
    .find((l) => l.split(':')[0] === group);
  if (!line) throw new CliError(`--socket-group: no group "${group}" in /etc/group`, 2);
  return Number(line.split(':')[2]);
}
