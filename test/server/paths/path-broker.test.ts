import { describe, expect, it } from 'vitest';
import { PAIR_COOLDOWN_MS, PathBroker } from '../../../server/paths/path-broker.ts';
import { PathTrial } from '../../../protocol/map.ts';

/** A small network: who sees whom, who is online with which candidates, and what each was sent. */
function network() {
  let now = 1_000_000;
  const sent: Array<{ to: string; msg: PathTrial }> = [];
  const visible: Record<string, string[]> = { a: ['b', 'c'], b: ['a'], c: ['a'], d: [] };
  const online: Record<string, { endpoints: string[]; observed: string | undefined }> = {
    a: { endpoints: ['192.168.1.2:41641'], observed: '198.51.100.1:40000' },
    b: { endpoints: ['10.0.0.2:41641', '[2001:db8::2]:41641'], observed: '203.0.113.2:50000' },
    c: { endpoints: [], observed: undefined }, // connected, but never seen on the UDP port
  };
  const broker = new PathBroker({
    visiblePeers: (id) => visible[id] ?? [],
    candidatesOf: (id) => online[id],
    send: (to, text) => {
      sent.push({ to, msg: PathTrial.parse(JSON.parse(text)) });
      return true;
    },
    now: () => now,
  });
  return { broker, sent, online, advance: (ms: number) => (now += ms) };
}

describe('path broker: both sides of a pair are told to try each other at once', () => {
  it("sends each node the other's candidates, the observed endpoint first, under one trial id", () => {
    const { broker, sent } = network();
    expect(broker.request('a', 'b')).toBe('started');
    expect(sent.map((s) => s.to)).toEqual(['a', 'b']);
    expect(sent[0]!.msg).toMatchObject({
      type: 'path-trial',
      peer: 'b',
      candidates: ['203.0.113.2:50000', '10.0.0.2:41641', '[2001:db8::2]:41641'],
    });
    expect(sent[1]!.msg).toMatchObject({
      type: 'path-trial',
      peer: 'a',
      candidates: ['198.51.100.1:40000', '192.168.1.2:41641'],
    });
    expect(sent[0]!.msg.trial).toBe(sent[1]!.msg.trial);
  });

  it('serves a pair once when both ask at the same time, and again after a pause', () => {
    const { broker, sent, advance } = network();
    expect(broker.request('a', 'b')).toBe('started');
    expect(broker.request('b', 'a')).toBe('recent');
    expect(sent).toHaveLength(2);
    advance(PAIR_COOLDOWN_MS - 1);
    expect(broker.request('b', 'a')).toBe('recent');
    advance(2);
    expect(broker.request('b', 'a')).toBe('started');
    expect(sent).toHaveLength(4);
  });

  it('refuses pairs the policy keeps apart, a node asking for itself, and unknown peers, sending nothing', () => {
    const { broker, sent } = network();
    expect(broker.request('d', 'a')).toBe('not_visible');
    expect(broker.request('a', 'a')).toBe('not_visible');
    expect(broker.request('a', 'zz')).toBe('not_visible');
    expect(sent).toEqual([]);
  });

  it('needs both nodes online and seen by the UDP port (a relayed session to upgrade)', () => {
    const { broker, sent, online } = network();
    expect(broker.request('a', 'c')).toBe('peer_offline');
    delete online.b;
    expect(broker.request('a', 'b')).toBe('peer_offline');
    expect(sent).toEqual([]);
  });

  it('limits how often one node may ask, so it cannot make the server signal others without end', () => {
    const { broker, advance } = network();
    const outcomes = Array.from({ length: 40 }, () => {
      advance(PAIR_COOLDOWN_MS + 1); // past the pair's pause each time: only the node's own budget counts
      return broker.request('a', 'b');
    });
    expect(outcomes.filter((o) => o === 'rate_limited').length).toBe(0); // 40 spread out is fine
    advance(10_000); // the budget refills
    const burst = Array.from({ length: 40 }, () => broker.request('a', 'b'));
    expect(burst.filter((o) => o === 'rate_limited')).toHaveLength(20); // a burst of 20, then refused
  });
});
