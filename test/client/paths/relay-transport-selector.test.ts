import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TIMINGS,
  RelayTransportSelector,
  type ServerPeerSample,
} from '../../../client/paths/relay-transport-selector.ts';

const UDP = '203.0.113.5:3478';
const BRIDGE = '127.0.0.1:50000';
const S = 1_000;
const MIN = 60 * S;
const onUdp = (extra: Partial<ServerPeerSample> = {}): ServerPeerSample => ({ endpoint: UDP, rxBytes: 0, ...extra });
const onBridge = (extra: Partial<ServerPeerSample> = {}): ServerPeerSample => ({
  endpoint: BRIDGE,
  rxBytes: 0,
  ...extra,
});

/** An auto selector that has given up on UDP at `t0` (no handshake in the first 5 s). */
function onWebSocketSince(t0: number): RelayTransportSelector {
  const s = new RelayTransportSelector('auto');
  s.observe(t0 - 5 * S, onUdp(), undefined);
  expect(s.observe(t0, onUdp(), undefined)).toBe('use-websocket');
  return s;
}

describe('choosing how WireGuard reaches the relay', () => {
  it("auto starts on UDP and stays there while the server peer's handshakes are fresh", () => {
    const s = new RelayTransportSelector('auto');
    expect(s.transport).toBe('udp');
    expect(s.observe(0, onUdp(), undefined)).toBe('none');
    expect(s.observe(1 * S, onUdp({ lastHandshake: 1 * S }), undefined)).toBe('none');
    // WireGuard rekeys every 2 min while keepalives flow: 2.5 min old is still a working path.
    expect(s.observe(151 * S, onUdp({ lastHandshake: 1 * S }), undefined)).toBe('none');
    expect(s.transport).toBe('udp');
  });

  it('auto moves to the WebSocket when no handshake completes within 5 s of the server peer getting its UDP endpoint', () => {
    const s = new RelayTransportSelector('auto');
    // The clock starts when the device has the server peer, not before.
    expect(s.observe(0, undefined, undefined)).toBe('none');
    expect(s.observe(60 * S, onUdp(), undefined)).toBe('none');
    expect(s.observe(60 * S + DEFAULT_TIMINGS.handshakeMs - 1, onUdp(), undefined)).toBe('none');
    expect(s.observe(60 * S + DEFAULT_TIMINGS.handshakeMs, onUdp(), undefined)).toBe('use-websocket');
    expect(s.transport).toBe('websocket');
  });

  it('a new UDP endpoint for the server gets its own time', () => {
    const { handshakeMs } = DEFAULT_TIMINGS;
    const s = new RelayTransportSelector('auto');
    s.observe(0, onUdp(), undefined);
    const moved = onUdp({ endpoint: '198.51.100.1:3478' });
    expect(s.observe(handshakeMs - 1, moved, undefined)).toBe('none');
    expect(s.observe(2 * handshakeMs - 2, moved, undefined)).toBe('none');
    expect(s.observe(2 * handshakeMs - 1, moved, undefined)).toBe('use-websocket');
  });

  it("decides a little before WireGuard's 5 s handshake retry, so that the retry takes the new path", () => {
    expect(DEFAULT_TIMINGS.handshakeMs).toBeLessThan(5_000);
    expect(DEFAULT_TIMINGS.handshakeMs).toBeGreaterThanOrEqual(3_000);
  });

  it('says UDP is unproven (the bridge should stand by) until a handshake completes over it', () => {
    const s = new RelayTransportSelector('auto');
    expect(s.udpUnproven).toBe(true);
    s.observe(0, onUdp(), undefined);
    expect(s.udpUnproven).toBe(true);
    s.observe(1 * S, onUdp({ lastHandshake: 1 * S }), undefined);
    expect(s.udpUnproven).toBe(false);
    expect(new RelayTransportSelector('udp').udpUnproven).toBe(false);
  });

  it('auto moves to the WebSocket when the last handshake over UDP is more than 3 min old', () => {
    const s = new RelayTransportSelector('auto');
    s.observe(0, onUdp({ lastHandshake: 0 }), undefined);
    expect(s.observe(3 * MIN, onUdp({ lastHandshake: 0 }), undefined)).toBe('none');
    expect(s.observe(3 * MIN + 1, onUdp({ lastHandshake: 0 }), undefined)).toBe('use-websocket');
  });

  it('on the WebSocket, probes UDP every 5 min with the server peer alone, and goes back when something comes back over UDP', () => {
    const s = onWebSocketSince(10 * S);
    expect(s.observe(10 * S + 5 * MIN - 1, onBridge({ rxBytes: 500 }), BRIDGE)).toBe('none');
    expect(s.observe(10 * S + 5 * MIN, onBridge({ rxBytes: 500 }), BRIDGE)).toBe('probe');
    expect(s.probing).toBe(true);
    // Measured from when the device has the UDP endpoint: earlier bytes came over the bridge.
    expect(s.observe(10 * S + 5 * MIN + 100, onUdp({ rxBytes: 532 }), BRIDGE)).toBe('measure');
    expect(s.observe(10 * S + 5 * MIN + 500, onUdp({ rxBytes: 532 }), BRIDGE)).toBe('none');
    expect(s.observe(10 * S + 5 * MIN + 900, onUdp({ rxBytes: 564 }), BRIDGE)).toBe('use-udp');
    expect(s.transport).toBe('udp');
    expect(s.probing).toBe(false);
    expect(s.udpUnproven, 'the probe proved UDP: no bridge standing by').toBe(false);
  });

  it('a new handshake over UDP during the probe counts as UDP working too', () => {
    const t = 5 * MIN;
    const s = onWebSocketSince(0);
    s.observe(t, onBridge(), BRIDGE);
    s.observe(t + 100, onUdp({ rxBytes: 9, lastHandshake: t - 60 * S }), BRIDGE);
    expect(s.observe(t + 600, onUdp({ rxBytes: 9, lastHandshake: t + 500 }), BRIDGE)).toBe('use-udp');
  });

  it('a probe that hears nothing within 5 s fails, and the next one comes 5 min later', () => {
    const t = 5 * MIN;
    const s = onWebSocketSince(0);
    expect(s.observe(t, onBridge(), BRIDGE)).toBe('probe');
    expect(s.observe(t + 200, onUdp({ rxBytes: 100 }), BRIDGE)).toBe('measure');
    expect(s.observe(t + 200 + DEFAULT_TIMINGS.probeMs - 1, onUdp({ rxBytes: 100 }), BRIDGE)).toBe('none');
    expect(s.observe(t + 200 + DEFAULT_TIMINGS.probeMs, onUdp({ rxBytes: 100 }), BRIDGE)).toBe('probe-failed');
    expect(s.transport).toBe('websocket');
    expect(s.probing).toBe(false);
    const failedAt = t + 200 + DEFAULT_TIMINGS.probeMs;
    expect(s.observe(failedAt + 5 * MIN - 1, onBridge(), BRIDGE)).toBe('none');
    expect(s.observe(failedAt + 5 * MIN, onBridge(), BRIDGE)).toBe('probe');
  });

  it('a probe proves nothing when WireGuard roamed the server peer back to the bridge (an answer came that way)', () => {
    const t = 5 * MIN;
    const s = onWebSocketSince(0);
    s.observe(t, onBridge(), BRIDGE);
    s.observe(t + 100, onUdp({ rxBytes: 100 }), BRIDGE);
    expect(s.observe(t + 200, onBridge({ rxBytes: 132 }), BRIDGE)).toBe('probe-failed');
    expect(s.transport).toBe('websocket');
  });

  it('a probe whose UDP endpoint never reaches the device gives up after 5 s', () => {
    const s = onWebSocketSince(0);
    expect(s.observe(5 * MIN, onBridge(), BRIDGE)).toBe('probe');
    expect(s.observe(5 * MIN + DEFAULT_TIMINGS.probeMs, onBridge(), BRIDGE)).toBe('probe-failed');
  });

  describe('with a server that answers STUN on its relay port', () => {
    const silent = (sentAt: number, endpoint = UDP) => ({ endpoint, sentAt, answered: false });
    const answered = (sentAt: number) => ({ endpoint: UDP, sentAt, answered: true });

    it('moves to the WebSocket as soon as STUN to the relay port goes unanswered while the server is reachable over TCP', () => {
      const s = new RelayTransportSelector('auto');
      expect(s.observe(0, onUdp(), undefined, true)).toBe('none');
      s.noteStun(silent(0));
      expect(s.observe(900, onUdp(), undefined, true)).toBe('use-websocket');
      expect(s.transport).toBe('websocket');
    });

    it('waits for the bridge to connect before believing silent STUN (no TCP either: maybe no network at all)', () => {
      const s = new RelayTransportSelector('auto');
      s.observe(0, onUdp(), undefined, false);
      s.noteStun(silent(0));
      expect(s.observe(900, onUdp(), undefined, false)).toBe('none');
      expect(s.observe(1_400, onUdp(), undefined, true)).toBe('use-websocket');
    });

    it('keeps UDP when a handshake over it completed, whatever STUN said', () => {
      const s = new RelayTransportSelector('auto');
      s.observe(0, onUdp(), undefined, true);
      s.noteStun(silent(0));
      expect(s.observe(900, onUdp({ lastHandshake: 300 }), undefined, true)).toBe('none');
      expect(s.transport).toBe('udp');
    });

    it('an answer leaves the decision to the handshake, within the usual time', () => {
      const s = new RelayTransportSelector('auto');
      s.observe(0, onUdp(), undefined, true);
      s.noteStun(answered(0));
      expect(s.observe(900, onUdp(), undefined, true)).toBe('none');
      expect(s.observe(DEFAULT_TIMINGS.handshakeMs - 1, onUdp(), undefined, true)).toBe('none');
      expect(s.observe(DEFAULT_TIMINGS.handshakeMs, onUdp(), undefined, true)).toBe('use-websocket');
      const proven = new RelayTransportSelector('auto');
      proven.observe(0, onUdp(), undefined, true);
      proven.noteStun(answered(0));
      expect(proven.observe(DEFAULT_TIMINGS.handshakeMs, onUdp({ lastHandshake: 2 * S }), undefined, true)).toBe(
        'none',
      );
    });

    it("silent STUN to another endpoint says nothing about the server peer's", () => {
      const s = new RelayTransportSelector('auto');
      s.observe(0, onUdp(), undefined, true);
      s.noteStun(silent(0, '198.51.100.1:3478'));
      expect(s.observe(900, onUdp(), undefined, true)).toBe('none');
    });

    it('STUN sent before a probe brought it back to UDP says nothing about UDP since', () => {
      const t = 5 * MIN;
      const s = onWebSocketSince(0);
      s.observe(t, onBridge(), BRIDGE, true);
      s.observe(t + 100, onUdp({ rxBytes: 10 }), BRIDGE, true);
      expect(s.observe(t + 300, onUdp({ rxBytes: 42 }), BRIDGE, true)).toBe('use-udp');
      s.noteStun(silent(t + 50));
      expect(s.observe(t + 900, onUdp({ rxBytes: 42 }), undefined, true)).toBe('none');
      expect(s.transport).toBe('udp');
    });

    it('a probe back to UDP fails at once when STUN sent since it began goes unanswered', () => {
      const t = 5 * MIN;
      const s = onWebSocketSince(0);
      s.noteStun(silent(100));
      expect(s.observe(t, onBridge(), BRIDGE, true)).toBe('probe');
      expect(s.observe(t + 100, onUdp({ rxBytes: 100 }), BRIDGE, true), 'silent STUN from before the probe').toBe(
        'measure',
      );
      s.noteStun(silent(t + 10));
      expect(s.observe(t + 1_000, onUdp({ rxBytes: 100 }), BRIDGE, true)).toBe('probe-failed');
      expect(s.transport).toBe('websocket');
      expect(s.probing).toBe(false);
    });

    it('a probe that hears WireGuard over UDP succeeds even if STUN went unanswered', () => {
      const t = 5 * MIN;
      const s = onWebSocketSince(0);
      s.observe(t, onBridge(), BRIDGE, true);
      s.observe(t + 100, onUdp({ rxBytes: 100 }), BRIDGE, true);
      s.noteStun(silent(t + 10));
      expect(s.observe(t + 1_000, onUdp({ rxBytes: 132 }), BRIDGE, true)).toBe('use-udp');
    });
  });

  it('udp and websocket modes never change their mind', () => {
    const udp = new RelayTransportSelector('udp');
    udp.observe(0, onUdp(), undefined);
    expect(udp.observe(10 * MIN, onUdp(), undefined)).toBe('none');
    expect(udp.transport).toBe('udp');
    udp.noteStun({ endpoint: UDP, sentAt: 0, answered: false });
    expect(udp.observe(10 * MIN + 1, onUdp(), undefined, true)).toBe('none');
    const ws = new RelayTransportSelector('websocket');
    expect(ws.transport).toBe('websocket');
    expect(ws.observe(10 * MIN, onBridge(), BRIDGE)).toBe('none');
    expect(ws.probing).toBe(false);
  });
});
