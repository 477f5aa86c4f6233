import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { MessageType } from './constants.ts';
import { portError } from '../port-error.ts';
import { messageType } from './messages.ts';
import { Reflector } from './reflector.ts';
import { Relay, type RelayDirectory, type RelayLimits } from './relay.ts';
import { isLinkMessage, LinkKind } from './link-message.ts';
import { RelayLink, type LinkLimits } from './relay-link.ts';
import { Responder } from './responder.ts';
import type { ServerKey } from './server-key.ts';
import { TokenBucket } from './token-bucket.ts';
import type { UdpAddress } from './udp-address.ts';
import { isVirtual, isVirtualEndpoint, VirtualPaths } from './virtual-paths.ts';

/**
 * The server's one UDP port, where every node's WireGuard talks to the server (reflector) and,
 * through it, to peers it cannot reach directly (relay). Each datagram:
 *  1. its message type, from the 4-byte header; anything else is dropped
 *  2. initiation: the responder's when mac1 is under the server's key, else the relay's
 *  3. response or cookie reply: the relay's (the server only ever responds)
 *  4. transport: the responder's when the index is one of its sessions and the packet is
 *     authentic (it then feeds the reflector), else the relay's
 *  5. not WireGuard-shaped: offered to `answerOther` (STUN Binding requests), after the checks
 *     above so that nothing WireGuard-shaped is ever taken for STUN
 * A sweep every second expires sessions and routes, and forgets nodes silent for too long.
 * Datagrams can also arrive on virtual paths (a node's WebSocket, ws-relay.ts): they go through
 * the same pipeline, from an address of their own, and what it sends there goes back on the path.
 */
interface NodeDirectory extends RelayDirectory {
  /** The registered node holding this WireGuard key (base64). */
  nodeForKey(publicKey: string): string | undefined;
}

/** A datagram path other than the socket, attached with `UdpPort.attachVirtual`. */
interface VirtualPath {
  /** The source address the pipeline sees for this path's datagrams. */
  readonly address: UdpAddress;
  /** One datagram that arrived on the path. */
  receive(packet: Uint8Array): void;
  /** The path is gone: its node is forgotten here until its next authentic packet, on any path. */
  detach(): void;
}

interface UdpPortDeps {
  directory: NodeDirectory;
  /** A node's server-observed endpoint changed (undefined: forgotten). */
  observed(nodeId: string, endpoint: string | undefined): void;
  now(): number;
  logger?: Logger;
  limits?: Partial<RelayLimits>;
  /** Initiations per second to the server above which cookies are required (default 500). */
  handshakesPerSecond?: number;
  /** A datagram that is not WireGuard: the answer to send back to its source, if any (STUN). */
  answerOther?: (packet: Uint8Array, from: UdpAddress) => Uint8Array | undefined;
  /** Several replicas: the link to the others' relays (relay-link.ts); absent: this one only. */
  link?: LinkSettings;
}

export interface LinkSettings {
  secret: string;
  /** The relay address of the replica holding this node's stream, when that is another replica. */
  locate(nodeId: string): UdpAddress | undefined;
  /** A path trial another replica's broker sent for a node whose stream is here (server/paths/). */
  onPathTrial(nodeId: string, text: string): void;
  limits?: Partial<LinkLimits>;
}

/** A node silent this long has lost its NAT mapping, or left: its observed endpoint is withdrawn. */
const FORGET_SILENT_MS = 5 * 60_000;
const SWEEP_MS = 1_000;

export class UdpPort {
  private responder?: Responder;
  private relay?: Relay;
  private reflector?: Reflector;
  private sweeper?: NodeJS.Timeout;
  private answerOther?: UdpPortDeps['answerOther'];
  private link?: RelayLink;
  private onPathTrial?: LinkSettings['onPathTrial'];
  private logger?: Logger;
  private readonly virtual = new VirtualPaths();

  private constructor(
    private readonly socket: Socket,
    readonly key: ServerKey,
  ) {}

  /** Opens the port (0 picks one) before anything else needs its number; `start` wires it. */
  static async bind(host: string, port: number, key: ServerKey): Promise<UdpPort> {
    const socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (err) =>
        reject(portError(err, { protocol: 'UDP', host, port, setting: 'relay.udpPort', off: 'turns the relay off' })),
      );
      socket.bind(port, host, () => resolve());
    });
    // Room for bursts while the event loop is busy with control work; the kernel may cap it
    // (net.core.rmem_max), and a smaller buffer costs only throughput.
    try {
      socket.setRecvBufferSize(4 << 20);
      socket.setSendBufferSize(4 << 20);
    } catch {
      // keep the system default
    }
    return new UdpPort(socket, key);
  }

  get port(): number {
    return this.socket.address().port;
  }

  get stats(): {
    sessions: number;
    handshakes: number;
    cookieReplies: number;
    routes: number;
    forwarded: number;
    dropped: number;
  } {
    return {
      sessions: this.responder?.sessionCount ?? 0,
      handshakes: this.responder?.counts.handshakes ?? 0,
      cookieReplies: this.responder?.counts.cookieReplies ?? 0,
      routes: this.relay?.routes.size ?? 0,
      forwarded: this.relay?.counts.forwarded ?? 0,
      dropped: this.relay?.counts.dropped ?? 0,
    };
  }

  /** The address the server last saw this node at, as `ip:port` (none while it is on a virtual path). */
  observedEndpoint(nodeId: string): string | undefined {
    const endpoint = this.reflector?.endpointOf(nodeId);
    return endpoint === undefined || isVirtualEndpoint(endpoint) ? undefined : endpoint;
  }

  /**
   * Attaches a path authenticated as `nodeId` (after `start`): `receive` feeds the pipeline,
   * and whatever the pipeline sends to the path's address goes to `deliver`.
   */
  attachVirtual(nodeId: string, deliver: (packet: Uint8Array) => void): VirtualPath {
    const address = this.virtual.add({ nodeId, deliver });
    let open = true;
    return {
      address,
      receive: (packet) => {
        if (open) this.safeDispatch(packet, address);
      },
      detach: () => {
        if (!open) return;
        open = false;
        this.virtual.remove(address);
        const id = this.reflector?.nodeAt(address);
        if (id !== undefined) this.reflector!.forget(id);
      },
    };
  }

  start(deps: UdpPortDeps): void {
    const { directory, now } = deps;
    this.logger = deps.logger;
    const send = (packet: Uint8Array, to: UdpAddress) => {
      if (isVirtual(to)) this.virtual.get(to)?.deliver(packet);
      else this.socket.send(packet, to.port, to.address, ignoreSendError);
    };
    // A virtual path is no address peers could use: while a node is on one it has no observed endpoint.
    const reflector = new Reflector((id, endpoint) =>
      deps.observed(id, endpoint !== undefined && isVirtualEndpoint(endpoint) ? undefined : endpoint),
    );
    const link = deps.link && new RelayLink({ ...deps.link, send, now });
    const relay = new Relay({
      directory,
      reflector,
      send,
      now,
      limits: deps.limits,
      ...(link && {
        remote: {
          holds: (id) => link.holds(id),
          deliver: (from, to, packet) => link.send(LinkKind.datagram, from, to, packet),
        },
      }),
    });
    const load = new TokenBucket(deps.handshakesPerSecond ?? 500, deps.handshakesPerSecond ?? 500, now());
    const responder: Responder = new Responder({
      identity: this.key,
      nodeForKey: directory.nodeForKey,
      send,
      now,
      underLoad: () => !load.take(1, now()),
      newIndex: (): number => {
        for (;;) {
          const index = randomBytes(4).readUInt32LE(0);
          if (!responder.ownsIndex(index) && !relay.ownsIndex(index)) return index;
        }
      },
      onAuthenticated: (nodeId, from) => {
        // A path speaks only for the node it was authenticated as, even with another's keys.
        if (isVirtual(from) && this.virtual.get(from)?.nodeId !== nodeId) return;
        reflector.observe(nodeId, from, now());
        relay.seen(nodeId, from);
      },
    });
    Object.assign(this, {
      responder,
      relay,
      reflector,
      answerOther: deps.answerOther,
      link,
      onPathTrial: deps.link?.onPathTrial,
    });

    this.socket.removeAllListeners('error');
    this.socket.on('error', (err) => deps.logger?.warn({ err }, 'relay UDP socket error'));
    this.socket.on('message', (packet, rinfo) =>
      this.safeDispatch(new Uint8Array(packet.buffer, packet.byteOffset, packet.byteLength), rinfo),
    );
    this.sweeper = setInterval(() => {
      responder.sweep();
      relay.sweep();
      link?.sweep();
      reflector.forgetSilent(now() - FORGET_SILENT_MS);
      for (const id of [...reflector.nodes()]) if (directory.wireguardKey(id) === undefined) reflector.forget(id);
    }, SWEEP_MS);
    this.sweeper.unref();
  }

  private safeDispatch(packet: Uint8Array, from: UdpAddress): void {
    try {
      this.dispatch(packet, from);
    } catch (err) {
      this.logger?.error({ err }, 'relay: packet handling failed');
    }
  }

  private dispatch(packet: Uint8Array, from: UdpAddress): void {
    switch (messageType(packet)) {
      case MessageType.initiation:
        if (this.responder!.handleInitiation(packet, from) === 'not-mine') this.relay!.initiation(packet, from);
        return;
      case MessageType.response:
        this.relay!.response(packet, from);
        return;
      case MessageType.cookieReply:
        this.relay!.byIndex(packet, from);
        return;
      case MessageType.transport:
        if (this.responder!.handleTransport(packet, from) === 'not-mine') this.relay!.byIndex(packet, from);
        return;
      default: {
        if (this.link && isLinkMessage(packet)) return this.fromLink(packet, from);
        const answer = this.answerOther?.(packet, from);
        if (answer) this.socket.send(answer, from.port, from.address, ignoreSendError);
      }
    }
  }

  /** Sends a path trial to a node whose stream another replica holds; false when none does. */
  sendPathTrial(nodeId: string, text: string): boolean {
    return this.link?.send(LinkKind.pathTrial, '', nodeId, new TextEncoder().encode(text)) ?? false;
  }

  /** How the link to other replicas fares (undefined with one replica). */
  get linkStats(): RelayLink['counts'] | undefined {
    return this.link?.counts;
  }

  private fromLink(packet: Uint8Array, from: UdpAddress): void {
    if (isVirtual(from)) return; // only replicas send these, on the socket
    const m = this.link!.receive(packet, from);
    if (!m) return;
    if (m.kind === LinkKind.datagram) this.relay!.fromLink(m.payload, m.from, m.to);
    else this.onPathTrial?.(m.to, new TextDecoder().decode(m.payload));
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}

/** A datagram that cannot be sent is lost like any other; WireGuard retries what matters. */
function ignoreSendError(): void {}
