import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../server/config/errors.ts';
import { parseAddress } from '../../../protocol/ip/address.ts';
import { addressPlan } from '../../../server/nodes/addresses.ts';
import { refusal } from '../../support/refusal.ts';

describe('address plan', () => {
  const plan = addressPlan('100.64.0.0/10', 'fd7a:115c:a1e0::/48');

  it('maps index 1 to the first host address of each prefix', () => {
    expect(plan.addressFor(1)).toEqual({ ipv4: '100.64.0.1', ipv6: 'fd7a:115c:a1e0::1' });
  });

  it('carries across octets and groups', () => {
    expect(plan.addressFor(255)).toEqual({ ipv4: '100.64.0.255', ipv6: 'fd7a:115c:a1e0::ff' });
    expect(plan.addressFor(256)).toEqual({ ipv4: '100.64.1.0', ipv6: 'fd7a:115c:a1e0::100' });
    expect(plan.addressFor(65_536)).toEqual({ ipv4: '100.65.0.0', ipv6: 'fd7a:115c:a1e0::1:0' });
    expect(plan.addressFor(0x123456)).toEqual({ ipv4: '100.82.52.86', ipv6: 'fd7a:115c:a1e0::12:3456' });
  });

  it('gives different indexes different addresses', () => {
    const seen = new Set<string>();
    for (let i = 1; i <= 2000; i++) {
      const a = plan.addressFor(i * 97);
      seen.add(a.ipv4);
      seen.add(a.ipv6);
    }
    expect(seen.size).toBe(4000);
  });

  it('uses the whole IPv4 prefix except its first and last address and the reserved ranges', () => {
    expect(plan.capacity).toBe(2 ** 22 - 2 - 1 - 512);
    expect(plan.addressFor(plan.capacity).ipv4).toBe('100.127.255.254');
    const small = addressPlan('10.1.2.0/24', 'fd00::/64');
    expect(small.capacity).toBe(254);
    expect(small.addressFor(254).ipv4).toBe('10.1.2.254');
  });

  it("never gives a node the agents' DNS address (100.100.100.100) or ChromeOS's 100.115.92.0/23", () => {
    const value = (ip: string) => {
      const a = parseAddress(ip);
      if (!a.ok) throw new Error(a.error.message);
      return a.value.value;
    };
    const index = (ip: string) => Number(value(ip) - value('100.64.0.0'));
    expect(plan.addressFor(index('100.100.100.99')).ipv4).toBe('100.100.100.99');
    expect(plan.addressFor(index('100.100.100.100')).ipv4).toBe('100.100.100.101');
    // Past the first reservation every address is one further on; past the second, 513.
    expect(plan.addressFor(index('100.115.91.255') - 1).ipv4).toBe('100.115.91.255');
    expect(plan.addressFor(index('100.115.91.255')).ipv4).toBe('100.115.94.0');
    // A prefix that does not hold them loses nothing.
    expect(addressPlan('10.0.0.0/8', 'fd00::/64').capacity).toBe(2 ** 24 - 2);
  });

  it('refuses an index past the end (or before the start) with address.exhausted', () => {
    const small = addressPlan('10.1.2.0/30', 'fd00::/64');
    expect([small.addressFor(1).ipv4, small.addressFor(2).ipv4]).toEqual(['10.1.2.1', '10.1.2.2']);
    const err = refusal(() => small.addressFor(3));
    expect(err.code).toBe('address.exhausted');
    expect(err.kind).toBe('unavailable');
    expect(err.message).toContain('10.1.2.0/30');
    expect(refusal(() => small.addressFor(0)).code).toBe('address.exhausted');
    expect(refusal(() => small.addressFor(1.5)).code).toBe('address.exhausted');
  });

  it('never leaves a small IPv6 prefix: it limits the capacity and is named when full', () => {
    const tight = addressPlan('100.64.0.0/10', 'fd00:1:2:3:4:5:6:0/112');
    expect(tight.capacity).toBeLessThanOrEqual(0xffff);
    expect(tight.addressFor(tight.capacity).ipv6).toMatch(/^fd00:1:2:3:4:5:6:[0-9a-f]{1,4}$/);
    const err = refusal(() => tight.addressFor(tight.capacity + 1));
    expect(err.code).toBe('address.exhausted');
    expect(err.message).toContain('fd00:1:2:3:4:5:6:0/112');
  });

  describe('writes IPv6 addresses in canonical form (RFC 5952)', () => {
    it('lowercase, without leading zeros, whatever the configured spelling', () => {
      const p = addressPlan('100.64.0.0/10', 'FD7A:115C:A1E0:0000::/64');
      expect(p.addressFor(0xabc).ipv6).toBe('fd7a:115c:a1e0::abc');
    });

    it('compresses the longest run of zero groups', () => {
      // fd00:1:0:1:0:0:0:1 — the run of three wins over the single zero.
      expect(addressPlan('100.64.0.0/10', 'fd00:1:0:1::/64').addressFor(1).ipv6).toBe('fd00:1:0:1::1');
    });

    it('compresses the first of two equally long runs', () => {
      // fd00:0:0:1:0:0:1:1
      expect(addressPlan('100.64.0.0/10', 'fd00:0:0:1::/96').addressFor(0x10001).ipv6).toBe('fd00::1:0:0:1:1');
    });

    it('never compresses a single zero group', () => {
      // fd00:1:2:3:4:5:0:1
      expect(addressPlan('100.64.0.0/10', 'fd00:1:2:3:4:5::/96').addressFor(1).ipv6).toBe('fd00:1:2:3:4:5:0:1');
    });

    it('writes an address with no zero group in full', () => {
      expect(addressPlan('100.64.0.0/10', 'fd00:1:2:3:4:5:6:0/112').addressFor(7).ipv6).toBe('fd00:1:2:3:4:5:6:7');
    });
  });

  describe('refuses bad prefixes, naming the config key', () => {
    const v4Cases = [
      'not-a-prefix',
      '100.64.0.0',
      '100.64.0.0/',
      '100.64.0.0/33',
      '100.64.0.0/31',
      '100.64.0.0/7',
      '100.64.0.0/ 10',
      '100.64.0.0/10.0',
      '100.64.0.0/0x0a',
      '100.64.0.0/10/1',
      '100.64.0.256/10',
      'fd00::/48',
    ];
    for (const bad of v4Cases) {
      it(`network.ipv4Prefix "${bad}"`, () => {
        const err = refusal(() => addressPlan(bad, 'fd7a:115c:a1e0::/48'), 'the prefix', ConfigError);
        expect(err.code).toBe('config.bad_prefix');
        expect(err.message).toMatch(/^network\.ipv4Prefix: /);
        expect(err.message).toContain(`"${bad}"`);
      });
    }

    const v6Cases = [
      'fd00::',
      'fd00::/113',
      'fd00::/7',
      'fd00::g/48',
      '10.0.0.0/16',
      '::ffff:100.64.0.0/104',
      'fe80::%eth0/64',
    ];
    for (const bad of v6Cases) {
      it(`network.ipv6Prefix "${bad}"`, () => {
        const err = refusal(() => addressPlan('100.64.0.0/10', bad), 'the prefix', ConfigError);
        expect(err.code).toBe('config.bad_prefix');
        expect(err.message).toMatch(/^network\.ipv6Prefix: /);
      });
    }

    it('a prefix with host bits set', () => {
      const v4 = refusal(() => addressPlan('100.64.0.1/10', 'fd00::/48'), 'the prefix', ConfigError);
      expect(v4.message).toMatch(/^network\.ipv4Prefix: .*host bits/);
      const v6 = refusal(() => addressPlan('100.64.0.0/10', 'fd00::1/48'), 'the prefix', ConfigError);
      expect(v6.message).toMatch(/^network\.ipv6Prefix: .*host bits/);
    });
  });
});
