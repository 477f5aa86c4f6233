/**
 * Which way WireGuard reaches the server's relay: its UDP port, or the WebSocket bridge
 * (ws-bridge.ts) for networks that block UDP. Pure: it only looks at what the device says about
 * the server peer, so every rule is tested with a clock in hand.
 *
 * `auto`, on UDP:  the server peer has a UDP endpoint; when no handshake with it completed within
 *                  `handshakeMs` of that, or the last one is older than `staleMs` (WireGuard
 *                  rekeys every 2 min while keepalives flow, so older means the path is gone),
 *                  use the WebSocket. `handshakeMs` is a little under WireGuard's 5 s retry, so
 *                  that its first retry already takes the new path; while UDP is unproven the
 *                  caller keeps the bridge connected, to switch without waiting for it.
 *                  Sooner when the server answers STUN on its relay port (the map announces a
 *                  `stunPort`): the caller sends a few Binding requests to the endpoint from a
 *                  fresh socket and reports the verdict (`noteStun`). None answered while the
 *                  server is reachable over TCP (the bridge is connected) means UDP is blocked:
 *                  use the WebSocket at once. An answer proves nothing about WireGuard, so then
 *                  the handshake rule above still decides; a fresh handshake always wins.
 * `auto`, on the WebSocket: every `probeEveryMs`, put the server peer alone back on UDP (relayed
 *                  peers stay on the bridge, so a failed probe costs them nothing); once the
 *                  device shows it there, note its received bytes and have a keepalive sent.
 *                  Anything received on UDP within `probeMs` (bytes, or a new handshake) means
 *                  UDP works again: use it. If WireGuard roamed the peer back to the bridge
 *                  (a late answer came that way), the probe proves nothing and fails; so does
 *                  unanswered STUN sent since the probe began.
 * `udp`, `websocket`: that transport, always.
 */
export const RELAY_TRANSPORT_MODES = ['auto', 'udp', 'websocket'] as const;
export type RelayTransportMode = (typeof RELAY_TRANSPORT_MODES)[number];
export type RelayTransportKind = 'udp' | 'websocket';

/** The server peer as the device reports it. */
export interface ServerPeerSample {
  endpoint?: string;
  /** Unix ms of the last completed handshake. */
  lastHandshake?: number;
  rxBytes: number;
}

/** What STUN Binding requests to the relay's UDP port found. */
interface StunVerdict {
  /** The UDP endpoint asked, as the server peer has it. */
  endpoint: string;
  /** Unix ms when the first request went out. */
  sentAt: number;
  answered: boolean;
}

export interface SelectorTimings {
  handshakeMs: number;
  staleMs: number;
  probeEveryMs: number;
  probeMs: number;
}

export const DEFAULT_TIMINGS: SelectorTimings = {
  handshakeMs: 4_000,
  staleMs: 180_000,
  probeEveryMs: 300_000,
  probeMs: 5_000,
};

/**
 * What the caller must do after a sample: apply the map again (`use-*`, `probe`, `probe-failed`:
 * endpoints change), or have the server peer send a keepalive now (`measure`).
 */
type SelectorStep = 'none' | 'use-websocket' | 'use-udp' | 'probe' | 'measure' | 'probe-failed';

type Probe = { phase: 'requested'; since: number } | { phase: 'measuring'; since: number; rxBytes: number };

export class RelayTransportSelector {
  private current: RelayTransportKind;
  private probe: Probe | undefined;
  /** On UDP: since when the server peer has had its current UDP endpoint. */
  private udpSince: number | undefined;
  private udpEndpoint: string | undefined;
  /** On the WebSocket: when UDP was last found not to work. */
  private udpFailedAt = 0;
  private udpProven = false;
  /** When the selector last chose UDP: STUN sent before says nothing about this time on it. */
  private udpChosenAt = -Infinity;
  private stun: StunVerdict | undefined;
  /** When the current probe was asked for (its `since` restarts once measuring). */
  private probeBegan = 0;

  constructor(
    readonly mode: RelayTransportMode,
    private readonly timings: SelectorTimings = DEFAULT_TIMINGS,
  ) {
    this.current = mode === 'websocket' ? 'websocket' : 'udp';
  }

  get transport(): RelayTransportKind {
    return this.current;
  }

  /** On UDP in auto mode, with no fresh handshake yet: the WebSocket may be needed shortly. */
  get udpUnproven(): boolean {
    return this.mode === 'auto' && this.current === 'udp' && !this.udpProven;
  }

  /** While true, the server peer alone goes over UDP (the rest stays on the bridge). */
  get probing(): boolean {
    return this.probe !== undefined;
  }

  /** A STUN verdict, taken into account from the next `observe`. */
  noteStun(verdict: StunVerdict): void {
    this.stun = verdict;
  }

  /**
   * One look at the server peer; `undefined` when it is not configured (the map has no relay).
   * `overTcp`: the server is reachable over TCP right now (the bridge is connected).
   */
  observe(
    now: number,
    peer: ServerPeerSample | undefined,
    bridgeEndpoint: string | undefined,
    overTcp = false,
  ): SelectorStep {
    if (this.mode !== 'auto') return 'none';
    return this.current === 'udp'
      ? this.onUdp(now, peer, bridgeEndpoint, overTcp)
      : this.onWebSocket(now, peer, bridgeEndpoint, overTcp);
  }

  /** STUN sent since `since` went unanswered while TCP works: UDP to the server is blocked. */
  private stunBlocked(since: number, overTcp: boolean, endpoint?: string): boolean {
    const v = this.stun;
    return (
      overTcp &&
      v !== undefined &&
      !v.answered &&
      v.sentAt >= since &&
      (endpoint === undefined || v.endpoint === endpoint)
    );
  }

  private onUdp(
    now: number,
    peer: ServerPeerSample | undefined,
    bridge: string | undefined,
    overTcp: boolean,
  ): SelectorStep {
    // Not (yet) on a UDP endpoint: the clock starts once the device has one.
    if (!peer?.endpoint || peer.endpoint === bridge) {
      this.udpSince = undefined;
      return 'none';
    }
    if (this.udpSince === undefined || peer.endpoint !== this.udpEndpoint) {
      this.udpSince = now;
      this.udpEndpoint = peer.endpoint;
    }
    const fresh = peer.lastHandshake !== undefined && now - peer.lastHandshake <= this.timings.staleMs;
    this.udpProven = fresh;
    if (fresh) return 'none';
    const blocked = this.stunBlocked(this.udpChosenAt, overTcp, peer.endpoint);
    if (!blocked && now - this.udpSince < this.timings.handshakeMs) return 'none';
    this.current = 'websocket';
    this.udpSince = undefined;
    this.udpFailedAt = now;
    return 'use-websocket';
  }

  private onWebSocket(
    now: number,
    peer: ServerPeerSample | undefined,
    bridge: string | undefined,
    overTcp: boolean,
  ): SelectorStep {
    const probe = this.probe;
    if (!probe) {
      if (!peer || now - this.udpFailedAt < this.timings.probeEveryMs) return 'none';
      this.probe = { phase: 'requested', since: now };
      this.probeBegan = now;
      return 'probe';
    }
    const onUdp = peer?.endpoint !== undefined && peer.endpoint !== bridge;
    if (probe.phase === 'requested') {
      if (onUdp) {
        this.probe = { phase: 'measuring', since: now, rxBytes: peer!.rxBytes };
        return 'measure';
      }
    } else if (onUdp) {
      const heard = peer!.rxBytes > probe.rxBytes || (peer!.lastHandshake ?? 0) > probe.since;
      if (heard) {
        this.probe = undefined;
        this.current = 'udp';
        this.udpProven = true;
        this.udpChosenAt = now;
        return 'use-udp';
      }
    } else {
      return this.failProbe(now);
    }
    const over = now - probe.since >= this.timings.probeMs || this.stunBlocked(this.probeBegan, overTcp);
    return over ? this.failProbe(now) : 'none';
  }

  private failProbe(now: number): SelectorStep {
    this.probe = undefined;
    this.udpFailedAt = now;
    return 'probe-failed';
  }
}
