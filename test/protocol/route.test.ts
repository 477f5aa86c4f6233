import { describe, expect, it } from 'vitest';
import { RegisterRequest } from '../../protocol/join.ts';
import { Route } from '../../protocol/route.ts';

describe('route fields on the wire', () => {
  it('take a CIDR prefix in any valid spelling', () => {
    for (const ok of ['10.0.0.0/8', '0.0.0.0/0', '::/0', 'FD00:0:0::/48', '198.51.100.7/32']) {
      expect(Route.safeParse(ok).success, ok).toBe(true);
    }
  });

  it.each([
    ['no length', '10.0.0.0'],
    ['host bits', '10.0.0.1/8'],
    ['a length past 32', '10.0.0.0/33'],
    ['an IPv4 tail', '::ffff:10.0.0.0/104'],
    ['a zone', 'fe80::%eth0/64'],
    ['5000 characters', 'x'.repeat(5000)],
    ['nothing', ''],
  ])('refuse %s as route.malformed, with the parser saying why', (_, bad) => {
    const r = Route.safeParse(bad);
    expect(r.success).toBe(false);
    const issue = r.error!.issues[0]!;
    expect(issue.code).toBe('custom');
    expect(issue.code === 'custom' && issue.params?.code).toBe('route.malformed');
    expect(issue.message).toMatch(/^".*"(: the prefix length| is not a CIDR prefix| has)/);
    expect(r.error!.issues).toHaveLength(1);
  });

  it('check every route a node registers with', () => {
    const r = RegisterRequest.shape.advertiseRoutes.safeParse(['10.0.0.0/8', '10.0.0.1/8']);
    expect(r.error?.issues[0]?.path).toEqual([1]);
  });
});
