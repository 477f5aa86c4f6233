import { describe, expect, it } from 'vitest';
import { ServiceDirectory } from '../../../server/services/service-directory.ts';
import { ServerConfig } from '../../../server/config/schema.ts';

describe('ServiceDirectory', () => {
  const v4 = '100.64.0.0/10';
  const v6 = 'fd7a:115c:a1e0::/48';

  it('gives a service the same addresses on every start, from the top of each range', () => {
    const a = new ServiceDirectory([{ name: 'kube', servedBy: ['tag:k8s-proxy'] }], v4, v6).services[0]!;
    const b = new ServiceDirectory([{ name: 'kube', servedBy: ['tag:other'] }], v4, v6).services[0]!;
    expect(a.ipv4).toBe(b.ipv4);
    expect(a.ipv6).toBe(b.ipv6);
    expect(a.ipv4).toMatch(/^100\.127\./);
    expect(a.prefixes).toEqual([`${a.ipv4}/32`, `${a.ipv6}/128`]);
    const other = new ServiceDirectory([{ name: 'db', servedBy: ['tag:db'] }], v4, v6).services[0]!;
    expect(other.ipv4).not.toBe(a.ipv4);
  });

  it('stays inside a small range, never on its first or last address', () => {
    for (let i = 0; i < 50; i++) {
      const s = new ServiceDirectory([{ name: `svc-${i}`, servedBy: ['tag:x'] }], '10.9.0.0/24', 'fd00::/120')
        .services[0]!;
      const last = Number(s.ipv4.split('.')[3]);
      expect(last).toBeGreaterThanOrEqual(192);
      expect(last).toBeLessThan(255);
    }
  });

  it('approves only its own addresses, only for nodes with a servedBy tag', () => {
    const d = new ServiceDirectory([{ name: 'kube', servedBy: ['tag:k8s-proxy'] }], v4, v6);
    const [p4, p6] = d.services[0]!.prefixes;
    expect(d.approvedFor(['tag:k8s-proxy'], [p4, '10.0.0.0/8'])).toEqual([p4]);
    expect(d.approvedFor(['tag:web'], [p4, p6])).toEqual([]);
    expect(d.servedBy(['tag:web', 'tag:k8s-proxy'])).toEqual(['kube']);
  });

  it('refuses two names that would share an address', () => {
    // In a /28 the top block has two usable addresses, and these two names hash to the same one.
    expect(
      () =>
        new ServiceDirectory(
          [
            { name: 'a', servedBy: ['tag:x'] },
            { name: 'b', servedBy: ['tag:x'] },
          ],
          '10.0.0.0/28',
          'fd00::/124',
        ),
    ).toThrow(expect.objectContaining({ code: 'config.invalid', message: expect.stringContaining('rename one') }));
  });

  it('is configured as a list of DNS labels with tags, names unique', () => {
    expect(ServerConfig.safeParse({ services: [{ name: 'Kube', servedBy: ['tag:x'] }] }).success).toBe(false);
    expect(ServerConfig.safeParse({ services: [{ name: 'kube', servedBy: [] }] }).success).toBe(false);
    const twice = { services: [1, 2].map(() => ({ name: 'kube', servedBy: ['tag:x'] })) };
    expect(ServerConfig.safeParse(twice).success).toBe(false);
  });
});
