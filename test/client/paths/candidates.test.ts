import { describe, expect, it } from 'vitest';
import { onLinkMatcher } from '../../../client/agent/endpoints.ts';
import { MAX_SLOTS, hostOf, trialOrder } from '../../../client/paths/candidates.ts';

const ctx = (links: string[], hasIPv6 = false) => ({ isOnLink: onLinkMatcher(links), hasIPv6 });

describe("the order a trial tries a peer's candidates in", () => {
  it("puts addresses on our own links first, then the rest in the server's order (its observed endpoint first)", () => {
    const fromServer = ['203.0.113.2:50000', '10.9.0.2:41641', '192.168.1.7:41641'];
    expect(trialOrder(fromServer, ctx(['192.168.1.5/24']))).toEqual([
      '192.168.1.7:41641',
      '203.0.113.2:50000',
      '10.9.0.2:41641',
    ]);
    expect(trialOrder(fromServer, ctx([]))).toEqual(fromServer);
  });

  it('leaves out IPv6 candidates when this machine has no IPv6 a peer could reach, and keeps them when it has', () => {
    const c = ['203.0.113.2:50000', '[2001:db8::2]:41641'];
    expect(trialOrder(c, ctx([]))).toEqual(['203.0.113.2:50000']);
    expect(trialOrder(c, ctx([], true))).toEqual(c);
  });

  it('drops loopback, malformed and repeated candidates, and stops at a few slots', () => {
    const c = [
      '127.0.0.1:41641',
      '[::1]:41641',
      'nonsense',
      '10.0.0.1',
      '198.51.100.1:1',
      '198.51.100.1:1',
      ...Array.from({ length: 9 }, (_, i) => `198.51.100.${i + 2}:1`),
    ];
    const order = trialOrder(c, ctx([], true));
    expect(order[0]).toBe('198.51.100.1:1');
    expect(order).toHaveLength(MAX_SLOTS);
    expect(order.some((x) => x.includes('127.0.0.1') || x.includes('::1'))).toBe(false);
  });

  it("never lets addresses on our links crowd out the peer's observed public mapping", () => {
    const bridges = ['172.17.0.1:41641', '172.18.0.1:41641', '172.19.0.1:41641', '172.20.0.1:41641'];
    const order = trialOrder(['203.0.113.2:50000', ...bridges], ctx(['172.16.0.0/12']), '203.0.113.2:50000');
    expect(order).toHaveLength(MAX_SLOTS);
    expect(order).toContain('203.0.113.2:50000');
    expect(order.slice(0, 3)).toEqual(bridges.slice(0, 3)); // on-link ones still go first
  });

  it('refuses what is not a unicast address with a real port: unspecified, multicast, broadcast, mapped loopback', () => {
    const bad = [
      '0.0.0.0:41641',
      '[::]:41641',
      '224.0.0.1:41641',
      '[ff02::1]:41641',
      '255.255.255.255:41641',
      '[::ffff:127.0.0.1]:41641',
      '198.51.100.1:0',
      '198.51.100.1:99999',
    ];
    expect(trialOrder([...bad, '198.51.100.7:41641'], ctx([], true))).toEqual(['198.51.100.7:41641']);
  });

  it('reads the host out of both endpoint forms', () => {
    expect(hostOf('10.0.0.1:41641')).toBe('10.0.0.1');
    expect(hostOf('[fd00::1]:41641')).toBe('fd00::1');
    expect(hostOf('fd00::1')).toBeUndefined();
    expect(hostOf('10.0.0.1')).toBeUndefined();
  });
});
