/**
 * Conformance with Tailscale's control plane: 214 policies applied to small networks, with what
 * every node was actually sent (captured by the Headscale project). Each accepted policy must
 * give every node the same peers and a filter with the same meaning; each rejected policy must
 * be rejected with a positioned diagnostic.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../policy/index.ts';
import { compileTopology, type TailscaleFilterRule } from '../../policy/tailscale-format.ts';
import { readTopology } from '../../policy/topology.ts';
import { filterDifference } from './support/filter-semantics.ts';

interface Case {
  id: string;
  policy: string;
  accepted: boolean;
  error?: string;
  topology: unknown;
  expect?: Record<
    string,
    {
      peers?: Array<{ name: string; allowedIPs?: string[]; primaryRoutes?: string[] }>;
      packetFilter?: TailscaleFilterRule[];
    }
  >;
}

/** Tailscale's error messages, mapped to the diagnostic code that must say the same thing. */
const REJECTION_CODES: Array<[RegExp, string]> = [
  [/tag not found/, 'policy.unknown_tag'],
  [/not valid on the src side/, 'policy.self_source'],
  [/port range .*invalid/, 'policy.invalid_ports'],
  [/action="deny"/, 'policy.invalid_action'],
  [/autogroup:self can only be used/, 'policy.self_mixed_source'],
];

/**
 * Where Trellis routes differently on purpose. Trellis approves an advertised route whenever the
 * current policy's autoApprovers cover it (recomputed with every policy); Tailscale approves at
 * advertise time, and this capture holds a route its autoApprovers cover recorded as unapproved.
 */
const ROUTE_DIVERGENCES = new Set(['acl-k03']);

const dir = join(import.meta.dirname, '../fixtures/conformance/tailscale-acl');
const cases: Case[] = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Case);

describe('Tailscale ACL conformance', () => {
  it('has all 214 captured cases', () => {
    expect(cases).toHaveLength(214);
  });

  for (const c of cases) {
    it(`${c.id}: ${c.accepted ? 'accepted' : `rejected (${c.error})`}`, () => {
      const parsed = parsePolicy(c.policy, `${c.id}.hujson`);
      if (!c.accepted) {
        expect(parsed.policy).toBeUndefined();
        expect(parsed.diagnostics.length).toBeGreaterThan(0);
        for (const d of parsed.diagnostics) expect(d.line).toBeGreaterThanOrEqual(1);
        const code = REJECTION_CODES.find(([re]) => re.test(c.error ?? ''))?.[1];
        expect(code, `no known code for "${c.error}"`).toBeDefined();
        expect(parsed.diagnostics.map((d) => d.code)).toContain(code);
        return;
      }
      expect(parsed.diagnostics).toEqual([]);
      if (!parsed.policy) return;
      const topology = readTopology(c.topology);
      expect(topology).toMatchObject({ ok: true });
      if (!topology.ok) return;
      const compiled = compileTopology(parsed.policy, topology.nodes).nodes;
      const problems: string[] = [];
      for (const [name, expected] of Object.entries(c.expect ?? {})) {
        const got = compiled[name];
        if (!got) {
          problems.push(`${name}: missing`);
          continue;
        }
        const wantPeers = (expected.peers ?? []).map((p) => p.name).sort();
        if (JSON.stringify(got.peers) !== JSON.stringify(wantPeers)) {
          problems.push(`${name}: peers ${JSON.stringify(got.peers)}, expected ${JSON.stringify(wantPeers)}`);
        }
        // Allowed IPs and primary routes as Tailscale sent them (one primary per prefix, the oldest router).
        const routesOf = (peers: Array<{ name: string; allowedIPs?: string[]; primaryRoutes?: string[] }>) =>
          JSON.stringify(
            peers
              .map((p) => [p.name, [...(p.allowedIPs ?? [])].sort(), [...(p.primaryRoutes ?? [])].sort()])
              .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
          );
        if (!ROUTE_DIVERGENCES.has(c.id) && routesOf(got.routes) !== routesOf(expected.peers ?? [])) {
          problems.push(`${name}: routes ${routesOf(got.routes)}, expected ${routesOf(expected.peers ?? [])}`);
        }
        const diff = filterDifference(got.packetFilter, expected.packetFilter ?? []);
        if (diff) problems.push(`${name}: filter ${diff}`);
      }
      expect(problems).toEqual([]);
    });
  }
});
