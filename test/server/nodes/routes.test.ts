import { describe, expect, it } from 'vitest';
import { parseRoutes } from '../../../server/nodes/routes.ts';
import { refusal } from '../../support/refusal.ts';

const refused = (routes: string[]) =>
  refusal(() => parseRoutes(routes, 'body.advertiseRoutes'), JSON.stringify(routes));

describe('advertised and approved routes', () => {
  it('accepts IPv4 and IPv6 CIDRs, including exit routes and host routes', () => {
    expect(
      parseRoutes(['10.0.0.0/8', '192.168.1.0/24', '0.0.0.0/0', '::/0', 'fd00:1::/32', '198.51.100.7/32'], 'w'),
    ).toEqual(['0.0.0.0/0', '10.0.0.0/8', '192.168.1.0/24', '198.51.100.7/32', '::/0', 'fd00:1::/32'].sort());
  });

  it('writes routes in canonical form and drops duplicates', () => {
    expect(parseRoutes(['FD00:0:0::/48', 'fd00::/48', 'fd00:0000::/48'], 'w')).toEqual(['fd00::/48']);
  });

  it('an empty list is fine', () => {
    expect(parseRoutes([], 'w')).toEqual([]);
  });

  it.each([
    'not-a-route',
    '10.0.0.0',
    '10.0.0.0/',
    '10.0.0.0/33',
    '10.0.0.0/08',
    '10.0.0.0/8/9',
    '10.0.0.0/-1',
    '10.0.0.0/ 8',
    '300.0.0.0/8',
    'fd00::/129',
    '::ffff:10.0.0.0/104',
    'fe80::%eth0/64',
    '',
  ])('refuses "%s" with route.malformed naming its place', (bad) => {
    const err = refused(['10.1.0.0/16', bad]);
    expect(err.code).toBe('route.malformed');
    expect(err.where).toBe('body.advertiseRoutes.1');
    expect(err.message).toContain(`body.advertiseRoutes[1]: "${bad}"`);
  });

  it('refuses host bits, saying what to write instead', () => {
    const v4 = refused(['10.0.0.1/8']);
    expect(v4.code).toBe('route.malformed');
    expect(v4.message).toContain('write 10.0.0.0/8');
    const v6 = refused(['fd00::1/64']);
    expect(v6.message).toContain('write fd00::/64');
  });
});
