import { describe, expect, it } from 'vitest';
import { TrustedSources } from '../../../../server/http/proxy-protocol/trusted-sources.ts';

describe('the load balancers trusted to send PROXY headers', () => {
  const trusted = new TrustedSources(['10.0.0.0/29', '192.0.2.7', 'fd00::/64']);

  it('covers the addresses of each prefix, and bare addresses as hosts', () => {
    expect(['10.0.0.0', '10.0.0.7', '192.0.2.7', 'fd00::1'].filter((a) => trusted.covers(a))).toHaveLength(4);
    expect(['10.0.0.8', '192.0.2.8', 'fd00:0:0:1::1', '127.0.0.1'].filter((a) => trusted.covers(a))).toEqual([]);
  });

  it('knows an IPv4 peer named as IPv4-mapped IPv6 (a socket listening on ::)', () => {
    expect(trusted.covers('::ffff:10.0.0.3')).toBe(true);
    expect(trusted.covers('::ffff:10.0.0.9')).toBe(false);
  });

  it('covers nothing when empty or when the peer is unknown', () => {
    expect(new TrustedSources([]).covers('10.0.0.1')).toBe(false);
    expect(new TrustedSources([]).empty).toBe(true);
    expect(trusted.covers(undefined)).toBe(false);
    expect(trusted.covers('not-an-ip')).toBe(false);
  });
});
