import { describe, expect, it } from 'vitest';
import { kubernetesGrant } from '../../../client/kube-proxy/capability.ts';

describe('kubernetesGrant', () => {
  it('is absent without the capability, even with others', () => {
    expect(kubernetesGrant({})).toBeUndefined();
    expect(kubernetesGrant({ 'example.com/cap/other': [{ impersonate: { groups: ['x'] } }] })).toBeUndefined();
  });

  it('joins the groups of every value, once each, in order', () => {
    const cap = [{ impersonate: { groups: ['devs', 'sre'] } }, { impersonate: { groups: ['sre', 'viewers'] } }, {}];
    expect(kubernetesGrant({ 'trellis.dev/cap/kubernetes': cap })).toEqual({
      groups: ['devs', 'sre', 'viewers'],
      skipped: [],
    });
  });

  it('grants the capability with no groups when its values name none', () => {
    expect(kubernetesGrant({ 'trellis.dev/cap/kubernetes': [] })).toEqual({ groups: [], skipped: [] });
  });

  it('skips values it cannot read and groups that cannot be a header value, never mangling them', () => {
    const cap = [
      'text',
      { impersonate: { groups: 'devs' } },
      { impersonate: { groups: ['ok', 'bad\r\nx', ' pad', 'é', ''] } },
    ];
    const grant = kubernetesGrant({ 'trellis.dev/cap/kubernetes': cap })!;
    expect(grant.groups).toEqual(['ok']);
    expect(grant.skipped).toHaveLength(6);
  });
});
