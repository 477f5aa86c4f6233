/** Who may apply a tag, and which advertised routes the policy approves by itself. */
import { describe, expect, it } from 'vitest';
import { autoApprovedRoutes, mayOwnTag, parsePolicy, type PolicyNode } from '../../policy/index.ts';

const policy = parsePolicy(`{
  "groups": {"group:sre": ["carol@example.com", "idp:sre-team"]},
  "tagOwners": {"tag:router": ["group:sre"], "tag:exit": ["tag:router"], "tag:web": ["autogroup:member"]},
  "autoApprovers": {
    "routes": {"10.0.0.0/8": ["tag:router"], "192.168.0.0/16": ["carol@example.com"]},
    "exitNode": ["tag:exit"],
  },
}`).policy!;

const node = (fields: Partial<PolicyNode>): PolicyNode => ({
  id: 'n',
  name: 'n',
  tags: [],
  ipv4: '100.64.0.1',
  ipv6: 'fd7a:115c:a1e0::1',
  routableIPs: [],
  approvedRoutes: [],
  ...fields,
});

describe('mayOwnTag', () => {
  it('allows owners listed by email or through a group, including identity-provider groups', () => {
    expect(mayOwnTag(policy, { email: 'carol@example.com' }, 'tag:router')).toBe(true);
    expect(mayOwnTag(policy, { email: 'erin@example.com', idpGroups: ['sre-team'] }, 'tag:router')).toBe(true);
    expect(mayOwnTag(policy, { email: 'erin@example.com' }, 'tag:router')).toBe(false);
  });

  it('lets autogroup:member own a tag for every user, and refuses undeclared tags', () => {
    expect(mayOwnTag(policy, { email: 'anyone@example.com' }, 'tag:web')).toBe(true);
    expect(mayOwnTag(policy, { email: 'carol@example.com' }, 'tag:unknown')).toBe(false);
  });
});

describe('autoApprovedRoutes', () => {
  it("approves routes inside an approver's prefix for matching identities only", () => {
    const router = node({ tags: ['tag:router'] });
    expect(autoApprovedRoutes(policy, router, ['10.1.0.0/16', '10.0.0.0/7', '192.168.1.0/24'])).toEqual([
      '10.1.0.0/16',
    ]);
    const carol = node({ user: 'carol@example.com' });
    expect(autoApprovedRoutes(policy, carol, ['192.168.1.0/24', '10.1.0.0/16'])).toEqual(['192.168.1.0/24']);
  });

  it('approves exit routes only through exitNode', () => {
    expect(autoApprovedRoutes(policy, node({ tags: ['tag:exit'] }), ['0.0.0.0/0', '::/0'])).toEqual([
      '0.0.0.0/0',
      '::/0',
    ]);
    expect(autoApprovedRoutes(policy, node({ tags: ['tag:router'] }), ['0.0.0.0/0'])).toEqual([]);
  });
});
