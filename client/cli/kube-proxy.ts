import pino from 'pino';
import { command, parseCommand, UsageError } from '../../cli-flags/index.ts';
import { AuditReporter } from '../kube-proxy/audit-reporter.ts';
import { WhoisCallers } from '../kube-proxy/caller.ts';
import { KubeProxyError } from '../kube-proxy/errors.ts';
import { Forwarder } from '../kube-proxy/forwarder.ts';
import { kubeconfigUpstream } from '../kube-proxy/kubeconfig.ts';
import { KubeProxy } from '../kube-proxy/kube-proxy.ts';
import { MeshListener } from '../kube-proxy/mesh-listener.ts';
import { fileServingCert, meshServingCert } from '../kube-proxy/serving-cert.ts';
import { inClusterUpstream } from '../kube-proxy/upstream.ts';
import type { LocalApiClient } from '../agent/local-api/client.ts';
import type { StatusResponse } from '../agent/local-api/messages.ts';
import { agentClient, SOCKET_FLAGS } from './local/socket.ts';

export const KUBE_PROXY = command({
  name: 'trellis kube-proxy',
  summary:
    "Runs the Kubernetes API server proxy beside this node's agent: serves kubectl from mesh peers on\n" +
    "this node's mesh addresses (and those of the services it serves, trellis up --serve) and forwards to the API server, as the caller (auth) or as-is (noauth).",
  flags: {
    ...SOCKET_FLAGS,
    mode: {
      type: 'string',
      choices: ['auth', 'noauth'],
      default: 'auth',
      help: "auth: impersonate each caller with its capability's groups; noauth: pass requests\nthrough, callers bring their own credentials",
    },
    port: { type: 'number', integer: true, min: 1, max: 65535, default: 443, help: 'HTTPS port on the mesh addresses' },
    kubeconfig: {
      type: 'string',
      value: 'PATH',
      help: "the API server and the proxy's own credential (default: in-cluster service account)",
    },
    context: { type: 'string', value: 'NAME', help: "the kubeconfig's context (default: its current-context)" },
    'tls-cert': {
      type: 'string',
      value: 'PATH',
      help: "PEM certificate for the proxy's mesh name (default: one from the mesh CA, through the agent)",
    },
    'tls-key': { type: 'string', value: 'PATH', help: 'PEM private key of --tls-cert' },
    'wait-up': {
      type: 'number',
      integer: true,
      min: 0,
      max: 3600,
      default: 60,
      help: 'seconds to wait for the agent to have mesh addresses',
    },
    'log-level': {
      type: 'string',
      choices: ['error', 'warn', 'info', 'debug'],
      default: 'info',
      help: 'how much to log',
    },
  },
  notes:
    'Callers are identified by their mesh address through the agent (`trellis whois`), never by what\n' +
    'they send; in auth mode every Authorization and Impersonate-* header is replaced. A caller needs\n' +
    'the trellis.dev/cap/kubernetes capability (a policy `app` grant). SIGHUP reloads --tls-cert/--tls-key.',
});

export async function kubeProxyCommand(argv: string[]): Promise<number> {
  const { flags } = parseCommand(argv, KUBE_PROXY);
  const logger = pino({ level: flags['log-level'], base: { service: 'kube-proxy' } }, pino.destination(2));
  const agent = agentClient(flags);
  const upstream =
    flags.kubeconfig === undefined ? inClusterUpstream() : kubeconfigUpstream(flags.kubeconfig, flags.context);
  const certPath = flags['tls-cert'];
  const keyPath = flags['tls-key'];
  if ((certPath === undefined) !== (keyPath === undefined))
    throw new UsageError('cli.missing_flag', 'trellis kube-proxy: give --tls-cert and --tls-key together');
  const files = certPath !== undefined && keyPath !== undefined ? fileServingCert(certPath, keyPath) : undefined;
  files?.load(); // unreadable files fail at start, not at the first connection

  const deadline = Date.now() + flags['wait-up'] * 1000;
  const { self, services } = await waitForMeshAddresses(agent, deadline);
  const domain = files ? undefined : (await agent.authorities()).domain;
  // A replica of a mesh service (`trellis up --serve kube`) answers for the service's name too.
  const names = domain && [self.name, ...services.map((s) => s.name)].map((n) => `${n}.${domain}`);
  const mesh = files ? undefined : await meshServingCert(agent, names || undefined);
  const cert = files ?? mesh!;
  const audit = new AuditReporter(agent, logger);
  const forwarder = new Forwarder(upstream);
  const proxy = new KubeProxy({
    mode: flags.mode,
    callers: new WhoisCallers(agent),
    forwarder,
    audit,
    proxyName: self.tags[0] ?? self.name,
    logger,
  });
  const listener = new MeshListener(proxy, cert, logger);
  const urls = await listener.listen(
    [self.ipv4, self.ipv6, ...services.flatMap((s) => s.addresses)],
    flags.port,
    deadline,
  );
  audit.start();
  logger.info(
    { urls, mode: flags.mode, upstream: upstream.url.origin, services: services.map((s) => s.name) },
    'kube-proxy ready',
  );
  // The mesh CA's certificate: asked for again every minute; the agent renews it in time.
  const renewal = mesh
    ? setInterval(() => {
        void mesh.refresh().then(
          () => listener.reloadCertificate(),
          (err: unknown) => logger.warn({ err }, 'serving certificate not refreshed; the current one stays'),
        );
      }, 60_000)
    : undefined;
  renewal?.unref();

  const onHup = () => {
    try {
      listener.reloadCertificate();
      logger.info('serving certificate reloaded');
    } catch (err) {
      logger.error({ err }, 'serving certificate not reloaded; the old one stays');
    }
  };
  process.on('SIGHUP', onHup);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.off('SIGHUP', onHup);
  clearInterval(renewal);
  logger.info('kube-proxy stopping');
  await listener.close();
  forwarder.close();
  await audit.stop();
  return 0;
}

type SelfStatus = NonNullable<StatusResponse['self']>;
type ServedStatus = NonNullable<SelfStatus['services']>[number];

/**
 * This node's status once it runs, and the mesh services it serves once the server has
 * answered for each (a replica then holds the service's addresses).
 */
async function waitForMeshAddresses(
  agent: LocalApiClient,
  deadline: number,
): Promise<{ self: SelfStatus; services: ServedStatus[] }> {
  for (;;) {
    const status = await agent.status();
    const services = status.self?.services ?? [];
    const waiting = services.filter((s) => s.state === 'pending' || s.state === 'unknown');
    if (status.self && status.state === 'running' && waiting.length === 0)
      return { self: status.self, services: services.filter((s) => s.addresses.length > 0) };
    if (Date.now() >= deadline) {
      if (status.self && status.state === 'running')
        throw new KubeProxyError(
          'kube_proxy.no_mesh_address',
          `the mesh service ${waiting[0]!.name} this node serves has no address yet: ${waiting[0]!.reason ?? 'the server has not answered'}`,
        );
      throw new KubeProxyError(
        'kube_proxy.no_mesh_address',
        `the agent is ${status.state} and has no mesh address to listen on: run \`trellis up\` on this node first`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
