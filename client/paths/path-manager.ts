import type { Logger } from 'pino';
import type { PathTrial } from '../../protocol/map.ts';
import type { Peer, SelfNode } from '../../protocol/node.ts';
import type { DeviceState, PeerState } from '../wireguard/uapi-format.ts';
import { trialOrder, type CandidateContext } from './candidates.ts';
import { PathEcho } from './echo.ts';
import { PathTable, type PeerPath, type PeerSample } from './path-table.ts';

/**
 * Moves relayed peers onto direct paths and keeps them there while they work (path-table.ts
 * holds the rules). A trial, signalled by the server to both sides at once, tries the peer's
 * candidates one slot at a time: point the peer at the candidate, send probes through the
 * tunnel, and keep the candidate if the peer's packets arrive from it (WireGuard moves the
 * endpoint to the source of every authentic packet). The existing session carries the probes:
 * no new handshake, and the peer stays on the relay between probes, so a failing trial costs
 * its traffic next to nothing. A trial that finds nothing leaves the peer on the relay.
 */
interface PathManagerDeps {
  map(): { self?: SelfNode; peers: ReadonlyMap<string, Peer> } | undefined;
  /** Where relayed peers point now; undefined when the map has no relay. */
  relayEndpoint(): string | undefined;
  device(): Promise<DeviceState | undefined>;
  setEndpoint(publicKey: string, endpoint: string): Promise<void>;
  /** Makes WireGuard drop unanswered first handshakes with these peers and start anew, now. */
  restartHandshakes(publicKeys: readonly string[]): Promise<void>;
  /** Asks the server for a trial; false when the stream is down. */
  request(peerId: string): boolean;
  /** The chosen paths changed: apply the map again. */
  changed(): void;
  /**
   * Makes our tunnel to the server send now. After our address changed the relay knows us only
   * once the server has seen an authentic packet from the new one; the keepalive is 25 s away.
   */
  touchServer(): void;
  /** This machine's own endpoints, to notice when it moved to another network. */
  localEndpoints(): readonly string[];
  /** It moved: the control connection and the server's view of us need renewing. */
  networkChanged(): void;
  /** Default: the probe on its standard port. */
  echo?: PathEcho;
  candidates: () => CandidateContext;
  log: Logger;
  tickMs?: number;
}

const SLOT_MS = 1_000;
/** Often enough to restart a lost first handshake well within a second. */
const TICK_MS = 250;
const PROBE_EVERY_MS = 100;
/** Long enough for WireGuard to pick the probe up from the tunnel and send it. */
const PROBE_LEAVES_MS = 5;
const LATENCY_EVERY_MS = 30_000;
/** How long after a path change its latency is measured (again). */
const LATENCY_SETTLE_MS = 2_000;
const SESSION_IN_USE_MS = 180_000;
/** What a probe and its answer add to a peer's counters (with WireGuard's overhead), and then some. */
const OWN_PROBE_BYTES = 512;
const MAX_TRIALS = 4;
/** How long after an address went a new one counts as the same move. */
const SETTLE_MS = 60_000;

export class PathManager {
  private readonly table = new PathTable();
  /** When each peer's latency is due to be measured next, and its counters when it last was. */
  private readonly measured = new Map<string, { due: number; bytes: number }>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private local: readonly string[] | undefined;
  private movedAt = -Infinity;
  private readonly checking = new Set<string>();
  private readonly echo: PathEcho;

  constructor(private readonly deps: PathManagerDeps) {
    this.echo = deps.echo ?? new PathEcho();
  }

  /** Answers peers' probes on our mesh addresses (again after they changed). */
  bindProbe(addresses: readonly string[]): Promise<void> {
    return this.echo.bind(addresses.map((a) => a.replace(/\/\d+$/, '')));
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.deps.tickMs ?? TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.echo.close();
  }

  /** Direct endpoints by peer WireGuard key, for reconfig. */
  directPaths(): Map<string, string> {
    const peers = this.deps.map()?.peers;
    const out = new Map<string, string>();
    for (const [id, endpoint] of this.table.directPaths()) {
      const key = peers?.get(id)?.wireguardKey;
      if (key) out.set(key, endpoint);
    }
    return out;
  }

  /** WireGuard keys of peers whose endpoint a trial owns right now (reconfig leaves it alone). */
  trials(): Set<string> {
    const peers = this.deps.map()?.peers;
    return new Set([...this.table.trials()].flatMap((id) => peers?.get(id)?.wireguardKey ?? []));
  }

  path(peerId: string): PeerPath | undefined {
    return this.table.path(peerId);
  }

  async tick(now = Date.now()): Promise<void> {
    const map = this.deps.map();
    const relay = this.deps.relayEndpoint();
    if (this.ticking || !map || relay === undefined) return;
    this.ticking = true;
    try {
      const byKey = new Map(((await this.deps.device())?.peers ?? []).map((p) => [p.publicKey, p]));
      const samples = new Map<string, PeerState & PeerSample & { candidates: string }>();
      for (const [id, p] of map.peers) {
        const d = byKey.get(p.wireguardKey);
        if (!d) continue;
        const established = d.lastHandshake !== undefined && now - d.lastHandshake.getTime() < SESSION_IN_USE_MS;
        samples.set(id, {
          ...d,
          established,
          candidates: `${p.endpoints.join(',')}|${p.observedEndpoint ?? ''}|${map.self?.observedEndpoint ?? ''}`,
        });
      }
      const result = this.table.tick(now, samples, relay);
      this.watchNetwork(now, result.suspect);
      for (const id of result.request) {
        if (!this.deps.request(id)) this.table.trialEnded(id, now, undefined);
      }
      for (const id of result.suspect) void this.checkAlive(id);
      for (const id of result.repoint) {
        const key = map.peers.get(id)?.wireguardKey;
        const direct = this.table.path(id)?.direct;
        if (key && direct) await this.deps.setEndpoint(key, direct);
      }
      const restart = result.restart.flatMap((id) => map.peers.get(id)?.wireguardKey ?? []);
      if (restart.length > 0) await this.deps.restartHandshakes(restart);
      for (const id of this.measured.keys()) if (!samples.has(id)) this.measured.delete(id);
      for (const [id, s] of samples) {
        // Only peers that carried traffic of their own since: probing idle ones would keep
        // their sessions (and the relay's work for them) alive for nothing.
        const last = this.measured.get(id);
        const used = !last || s.rxBytes + s.txBytes - last.bytes > OWN_PROBE_BYTES;
        if (s.established && used && now >= (last?.due ?? -Infinity)) void this.measure(id, now, s.rxBytes + s.txBytes);
      }
      if (result.changed) this.deps.changed();
    } catch (err) {
      this.deps.log.debug({ err }, 'path check failed');
    } finally {
      this.ticking = false;
    }
  }

  /**
   * An address gone means we moved (or lost a network). The new network's address often comes
   * a moment later (DHCP), and only then can the control connection and the server's view of
   * us be renewed, so that is done again when an address appears soon after one went. An
   * address added otherwise (a VPN, a container bridge) changes nothing for paths that work.
   */
  private watchNetwork(now: number, suspect: string[]): void {
    const local = this.deps.localEndpoints();
    const before = this.local;
    this.local = local;
    if (!before) return;
    const gone = before.some((e) => !local.includes(e));
    const arrived = local.some((e) => !before.includes(e));
    if (!gone && !(arrived && now - this.movedAt < SETTLE_MS)) return;
    if (gone) this.movedAt = now;
    this.deps.log.info({ endpoints: local.join(',') }, "this machine's addresses changed; checking every direct path");
    this.deps.networkChanged();
    this.deps.touchServer();
    for (const id of this.table.directPaths().keys()) if (!suspect.includes(id)) suspect.push(id);
  }

  /** The server's signal: try the peer's candidates now (the peer does the same with ours). */
  async trial(t: PathTrial): Promise<void> {
    const peer = this.deps.map()?.peers.get(t.peer);
    const relay = this.deps.relayEndpoint();
    const ip = peer && meshIp(peer);
    // A few at a time: each one samples the device ten times a second.
    if (
      !peer ||
      relay === undefined ||
      !ip ||
      this.table.trials().size >= MAX_TRIALS ||
      !this.table.trialStarted(peer.id, Date.now())
    )
      return;
    const started = Date.now();
    let direct: string | undefined;
    try {
      for (const candidate of trialOrder(t.candidates, this.deps.candidates(), peer.observedEndpoint)) {
        direct = await this.trySlot(peer.wireguardKey, ip, candidate, relay);
        if (direct !== undefined) break;
      }
      if (direct === undefined) await this.deps.setEndpoint(peer.wireguardKey, relay);
    } catch (err) {
      this.deps.log.debug({ err, peer: peer.name }, 'path trial failed');
    }
    this.table.trialEnded(peer.id, Date.now(), direct);
    this.deps.log.info(
      { trial: t.trial, peer: peer.name, path: direct ?? 'relay', ms: Date.now() - started },
      direct ? 'direct path found' : 'no direct path; staying on the relay',
    );
    this.deps.changed();
    // Not at once: the peer may still be trying, answering over the relay meanwhile.
    if (direct) setTimeout(() => void this.measure(peer.id, Date.now()), LATENCY_SETTLE_MS).unref();
  }

  /**
   * Points the peer at the candidate only while one probe leaves, then back at the relay, so
   * the peer's traffic keeps flowing while a candidate fails. Once we have set the relay, only
   * an authentic packet from elsewhere can move the endpoint: if it moved, the peer reached us
   * directly, from the address it now shows (usually the candidate). On a short path the answer
   * comes back before we point at the relay again: then the endpoint is still the candidate
   * and more bytes came in (anything relayed would have moved it to the relay).
   */
  private async trySlot(key: string, ip: string, candidate: string, relay: string): Promise<string | undefined> {
    const deadline = Date.now() + SLOT_MS;
    while (Date.now() < deadline && this.timer !== undefined) {
      await this.deps.setEndpoint(key, candidate);
      const before = await this.sample(key);
      void this.echo.ping(ip, PROBE_EVERY_MS * 5);
      await sleep(PROBE_LEAVES_MS);
      const quick = await this.sample(key);
      if (before && quick?.endpoint === candidate && quick.rxBytes > before.rxBytes) return candidate;
      await this.deps.setEndpoint(key, relay);
      await sleep(PROBE_EVERY_MS);
      const now = await this.sample(key);
      if (now?.endpoint !== undefined && now.endpoint !== relay) {
        await this.deps.setEndpoint(key, now.endpoint);
        return now.endpoint;
      }
    }
    return undefined;
  }

  private async checkAlive(id: string): Promise<void> {
    const peer = this.deps.map()?.peers.get(id);
    const ip = peer && meshIp(peer);
    // Without our probe socket (its port taken) silence proves nothing: keep the path.
    if (!ip || this.checking.has(id) || !this.echo.bound) return;
    this.checking.add(id);
    try {
      for (let i = 0; i < 2; i++) {
        // One probe proves the path alive, but is no latency (PathEcho.latency says why).
        if ((await this.echo.ping(ip, 1_000)) !== undefined) return this.table.answered(id, Date.now());
      }
    } finally {
      this.checking.delete(id);
    }
    if (!this.table.directPaths().has(id)) return;
    this.deps.log.info({ peer: peer.name }, 'direct path stopped answering; back to the relay');
    this.deps.touchServer();
    this.table.dead(id, Date.now());
    this.deps.changed();
  }

  /**
   * Measures the latency of the path the peer is on. When the path changed meanwhile (the peer
   * answered over the relay, say, while its own trial still ran: WireGuard then moves our
   * endpoint there), the round trips mixed two paths and are thrown away; it is tried again soon.
   */
  private async measure(id: string, now: number, bytes = 0): Promise<void> {
    this.measured.set(id, { due: now + LATENCY_EVERY_MS, bytes });
    const peer = this.deps.map()?.peers.get(id);
    const ip = peer && meshIp(peer);
    if (!ip) return;
    const before = (await this.sample(peer.wireguardKey))?.endpoint;
    const rtt = await this.echo.latency(ip);
    const after = (await this.sample(peer.wireguardKey))?.endpoint;
    if (rtt === undefined) return;
    if (before !== after) {
      this.measured.set(id, { due: Date.now() + LATENCY_SETTLE_MS, bytes });
      return;
    }
    this.table.answered(id, Date.now(), rtt);
  }

  private async sample(key: string): Promise<PeerState | undefined> {
    return (await this.deps.device())?.peers.find((p) => p.publicKey === key);
  }
}

function meshIp(peer: Peer): string | undefined {
  return peer.addresses.map((a) => a.replace(/\/\d+$/, '')).find((a) => !a.includes(':'));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
