import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { Agent } from '../agent/agent.ts';
import { Engine } from '../agent/engine.ts';
import { LocalApi } from '../agent/local-api/server.ts';
import { deviceOpener } from '../agent/open-device.ts';
import { DNS_SERVICE_ADDRESS, MeshDns } from '../dns/mesh-dns.ts';
import { RELAY_TRANSPORT_MODES } from '../paths/relay-transport-selector.ts';
import { isPrefix } from '../netconf/prefix.ts';
import { PATH_PROBE_PORT } from '../../protocol/path-probe.ts';
import { CliError, hostname, ifaceName, oneOf, parseFlags, port, positiveInt, serverUrl } from './local/flags.ts';
import { socketPathOf, stateDirOf } from './local/socket.ts';
import { WORKLOAD_FLAGS, WORKLOAD_USAGE, workloadFrom } from './local/workload-flags.ts';

const USAGE = `usage: trellis agent [options]
  Runs the agent in the foreground (for systemd, containers, or a terminal) until SIGINT/SIGTERM.
  Stopping the agent leaves tunnels and rules in force for the next agent; \`trellis down\` removes them.
  --state-dir DIR         keys, node and last map (default /var/lib/trellis, or TRELLIS_STATE_DIR)
  --socket PATH           local API socket (default DIR/agent.sock, or TRELLIS_SOCKET)
  --socket-group GROUP    group (name or gid) besides root allowed to use the socket
  --interface NAME        WireGuard interface (default trellis0)
  --port N                WireGuard UDP port (default 41641)
  --mtu N                 mesh interface MTU (default 1280, which fits inside any path)
  --server URL            server for \`trellis up\` when it names none
  --mesh-ranges CIDRS     the mesh's address ranges until the server's map names them (servers
                          that do not; default 100.64.0.0/10,fd7a:115c:a1e0::/48)
  --wireguard KIND        auto (kernel if present, else wireguard-go) or wireguard-go
  --relay-transport KIND  how WireGuard reaches the server's relay: auto (UDP, a WebSocket on the
                          server's HTTP(S) port when UDP gets no answer), udp or websocket
  --dns on|off            answer <name>.<mesh domain> at 100.100.100.100 and route the domain there
                          in systemd-resolved (default on)
  --log-level LEVEL       error, warn, info (default) or debug
  A workload (sidecar, DaemonSet) joins on start, with no separate \`trellis up\`, given --server and:
  ${WORKLOAD_USAGE}
  --hostname NAME           the node's name (default: the machine's, a pod's name)
  (or TRELLIS_TOKEN_FILE, TRELLIS_CREDENTIAL, TRELLIS_CLUSTER, TRELLIS_WORKLOAD_API, TRELLIS_AUDIENCE in the environment)`;

const DEFAULT_MESH_RANGES = ['100.64.0.0/10', 'fd7a:115c:a1e0::/48'];

export async function agentCommand(argv: string[]): Promise<number> {
  const flags = parseFlags(
    argv,
    {
      values: [
        'state-dir',
        'socket',
        'socket-group',
        'interface',
        'port',
        'mtu',
        'server',
        'mesh-ranges',
        'wireguard',
        'relay-transport',
        'dns',
        'log-level',
        'hostname',
        ...WORKLOAD_FLAGS,
      ],
    },
    USAGE,
  );
  const v = (name: string) => flags.values.get(name);
  const stateDir = stateDirOf(flags);
  const iface = ifaceName('interface', v('interface') ?? 'trellis0');
  const listenPort = port('port', v('port') ?? '41641');
  const mtu = v('mtu') === undefined ? undefined : positiveInt('mtu', v('mtu')!, 65535);
  if (mtu !== undefined && mtu < 1280) throw new CliError(`--mtu: ${mtu} is below 1280, the least IPv6 allows`, 2);
  const server = v('server') ?? process.env.TRELLIS_SERVER;
  const meshRanges = (v('mesh-ranges') ?? DEFAULT_MESH_RANGES.join(',')).split(',').map((s) => s.trim());
  for (const r of meshRanges)
    if (!isPrefix(r, { bareAddress: false }))
      throw new CliError(`--mesh-ranges: "${r}" is not a CIDR prefix with host bits clear`, 2);
  const level = oneOf('log-level', v('log-level') ?? 'info', ['error', 'warn', 'info', 'debug'] as const);
  const prefer = oneOf('wireguard', v('wireguard') ?? 'auto', ['auto', 'wireguard-go'] as const);
  const relayTransport = oneOf('relay-transport', v('relay-transport') ?? 'auto', RELAY_TRANSPORT_MODES);
  const dns = oneOf('dns', v('dns') ?? 'on', ['on', 'off'] as const) === 'on';
  const gid = v('socket-group') === undefined ? undefined : groupId(v('socket-group')!);
  const workload = workloadFrom(flags, process.env);
  if (workload && !server)
    throw new CliError(
      `--${workload.source.type === 'file' ? 'token-file' : 'workload-api'}: a workload joins on start, so it needs --server URL (or TRELLIS_SERVER)`,
      2,
    );
  const name = v('hostname') === undefined ? undefined : hostname('hostname', v('hostname')!);
  if (process.getuid?.() !== 0)
    throw new CliError('trellis agent must run as root (it creates interfaces, routes and nftables rules)', 1);

  const logger = pino({ level, base: { iface } }, pino.destination(2));
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
    ...(server && { serverUrl: serverUrl('server', server) }),
  });
  await agent.start();
  const api = new LocalApi(agent, { socketPath: socketPathOf(flags), ...(gid !== undefined && { gid }) });
  await api.listen();
  logger.info({ stateDir, listenPort }, 'agent ready');
  if (workload) void agent.joinOnStart(workload, { ...(name && { hostname: name }) });
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
