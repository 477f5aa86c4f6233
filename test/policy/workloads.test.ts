/** A workload gets the tags that the policy maps to the identity it proved, and no others. */
import { describe, expect, it } from 'vitest';
import { parsePolicy, tagsForWorkload } from '../../policy/index.ts';

const policy = parsePolicy(`{
  "tagOwners": {"tag:payments": [], "tag:api": [], "tag:ledger": [], "tag:any-prod": []},
  "workloads": [
    {"spiffe": "spiffe://prod.example.org/ns/payments/*", "tags": ["tag:payments"]},
    {"spiffe": "spiffe://prod.example.org/ns/*/sa/ledger", "tags": ["tag:ledger"]},
    {"kubernetes": {"cluster": "prod", "namespace": "payments", "serviceAccount": "api"}, "tags": ["tag:api"]},
    {"kubernetes": {"cluster": "prod", "namespace": "*", "serviceAccount": "*"}, "tags": ["tag:any-prod"]},
  ],
}`).policy!;

describe('tagsForWorkload', () => {
  it('matches a trailing * against one or more path segments', () => {
    expect(tagsForWorkload(policy, { spiffeId: 'spiffe://prod.example.org/ns/payments/sa/api' })).toEqual([
      'tag:payments',
    ]);
    expect(tagsForWorkload(policy, { spiffeId: 'spiffe://prod.example.org/ns/payments' })).toEqual([]);
  });

  it('matches an inner * against exactly one segment', () => {
    expect(tagsForWorkload(policy, { spiffeId: 'spiffe://prod.example.org/ns/billing/sa/ledger' })).toEqual([
      'tag:ledger',
    ]);
    expect(tagsForWorkload(policy, { spiffeId: 'spiffe://prod.example.org/ns/a/b/sa/ledger' })).toEqual([]);
  });

  it('never matches another trust domain', () => {
    expect(tagsForWorkload(policy, { spiffeId: 'spiffe://evil.example.org/ns/payments/sa/api' })).toEqual([]);
  });

  it('matches Kubernetes service accounts by cluster, namespace and name, with * wildcards', () => {
    expect(
      tagsForWorkload(policy, { kubernetes: { cluster: 'prod', namespace: 'payments', serviceAccount: 'api' } }),
    ).toEqual(['tag:any-prod', 'tag:api']);
    expect(
      tagsForWorkload(policy, { kubernetes: { cluster: 'staging', namespace: 'payments', serviceAccount: 'api' } }),
    ).toEqual([]);
  });
});
