import { describe, expect, it } from 'vitest';
import { chooseExitNode, matchPeer } from '../../../client/exit-node/choose.ts';
import type { Peer } from '../../../protocol/node.ts';

const KEY = 'x'.repeat(43) + '=';
function peer(id: string, o: { exit?: boolean; v6?: boolean; online?: boolean } = {}): Peer {
  const n = Number(id.replace(/\D/g, ''));
  const addresses = [`100.64.0.${n}/32`, `fd7a:115c:a1e0::${n}/128`];
  return {
    id,
    name: id,
    wireguardKey: KEY,
    addresses,
    allowedIPs: addresses,
    ...(o.exit && { exitRoutes: ['0.0.0.0/0', ...(o.v6 === false ? [] : ['::/0'])] }),
    endpoints: [],
    tags: [],
    online: o.online ?? true,
  };
}
const none = () => undefined;

describe('choosing the exit node', () => {
  it('reads exit routes from allowed IPs as servers before protocol 9 sent them', () => {
    const old = { ...peer('ex9'), allowedIPs: ['100.64.0.9/32', '0.0.0.0/0'] };
    expect(chooseExitNode({ wanted: 'ex9', peers: [old], latencyMs: none }).peer?.id).toBe('ex9');
  });

  it('picks a named exit node on offer, by name or by mesh address, with the families it routes', () => {
    const peers = [peer('ex1', { exit: true, v6: false }), peer('n2')];
    expect(chooseExitNode({ wanted: 'EX1', peers, latencyMs: none })).toMatchObject({ peer: { id: 'ex1' } });
    const byIp = chooseExitNode({ wanted: '100.64.0.1', peers, latencyMs: none });
    expect(byIp.peer?.id).toBe('ex1');
    expect([...byIp.families]).toEqual([4]);
    expect(matchPeer('fd7a:115c:a1e0::2', peers)?.id).toBe('n2');
  });

  it('chooses nobody for a peer that offers no exit route to this node, and keeps an offline one chosen', () => {
    const peers = [peer('ex1', { exit: true, online: false }), peer('n2')];
    expect(chooseExitNode({ wanted: 'n2', peers, latencyMs: none }).peer).toBeUndefined();
    expect(chooseExitNode({ wanted: 'ex1', peers, latencyMs: none }).peer?.id).toBe('ex1');
  });

  it('auto: the online exit node with the lowest latency, kept while online, the next when it dies', () => {
    const lat: Record<string, number> = { ex1: 30, ex2: 5, ex3: 10 };
    const latencyMs = (id: string) => lat[id];
    const up = [peer('ex1', { exit: true }), peer('ex2', { exit: true, online: false }), peer('ex3', { exit: true })];
    expect(chooseExitNode({ wanted: 'auto', peers: up, latencyMs }).peer?.id).toBe('ex3');
    // ex2 comes online and is faster, but ex3 stays: no reason to break connections.
    const all = up.map((p) => ({ ...p, online: true }));
    expect(chooseExitNode({ wanted: 'auto', peers: all, current: 'ex3', latencyMs }).peer?.id).toBe('ex3');
    const ex3Dead = all.map((p) => (p.id === 'ex3' ? { ...p, online: false } : p));
    expect(chooseExitNode({ wanted: 'auto', peers: ex3Dead, current: 'ex3', latencyMs }).peer?.id).toBe('ex2');
    const allDead = all.map((p) => ({ ...p, online: false }));
    expect(chooseExitNode({ wanted: 'auto', peers: allDead, current: 'ex3', latencyMs }).peer?.id).toBe('ex3');
  });

  it('auto: unmeasured exit nodes come after measured ones, then by name', () => {
    const peers = [peer('ex2', { exit: true }), peer('ex1', { exit: true }), peer('ex3', { exit: true })];
    expect(chooseExitNode({ wanted: 'auto', peers, latencyMs: none }).peer?.id).toBe('ex1');
    expect(chooseExitNode({ wanted: 'auto', peers, latencyMs: (id) => (id === 'ex3' ? 50 : undefined) }).peer?.id).toBe(
      'ex3',
    );
  });
});
