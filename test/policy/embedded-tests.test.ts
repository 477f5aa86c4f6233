/** A policy's own tests run on every load; one failing test rejects the policy. */
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../policy/index.ts';

const base = (tests: string) => `{
  "groups": {"group:eng": ["alice@example.com", "bob@example.com"], "group:ops": ["idp:ops"]},
  "tagOwners": {"tag:web": [], "tag:db": []},
  "hosts": {"legacy": "10.9.0.5"},
  "acls": [
    {"action": "accept", "src": ["alice@example.com"], "dst": ["tag:web:443"]},
    {"action": "accept", "src": ["group:ops", "tag:web"], "dst": ["tag:db:5432", "legacy:22"]},
    {"action": "accept", "src": ["autogroup:member"], "dst": ["autogroup:self:22"]},
  ],
  "tests": [${tests}],
}`;

describe('embedded tests', () => {
  it('pass when every identity of the source is allowed, or none is for deny', () => {
    const r = parsePolicy(
      base(`
      {"src": "alice@example.com", "accept": ["tag:web:443", "alice@example.com:22"], "deny": ["tag:db:5432", "bob@example.com:22"]},
      {"src": "group:ops", "accept": ["tag:db:5432", "10.9.0.5:22"]},
      {"src": "tag:web", "proto": "tcp", "accept": ["legacy:22"], "deny": ["tag:web:443"]},`),
    );
    expect(r.diagnostics).toEqual([]);
  });

  it('fail an accept that holds for only some members of a group, naming who cannot', () => {
    const r = parsePolicy(base('{"src": "group:eng", "accept": ["tag:web:443"]}'), 'p.hujson');
    expect(r.diagnostics).toEqual([
      {
        code: 'policy.test_failed',
        file: 'p.hujson',
        line: 10,
        column: 45,
        message:
          'test failed: group:eng should reach tag:web:443, but bob@example.com (in group:eng) cannot: no rule allows it',
      },
    ]);
  });

  it('fail a deny that some rule allows, naming the rule', () => {
    const r = parsePolicy(base('{"src": "tag:web", "deny": ["tag:db:5432"]}'), 'p.hujson');
    expect(r.diagnostics[0]?.message).toBe(
      'test failed: tag:web should not reach tag:db:5432, but tag:web can through the rule at p.hujson:7:5',
    );
  });

  it('check the protocol: a UDP test is not satisfied by a TCP-only rule', () => {
    const r = parsePolicy(
      base('{"src": "alice@example.com", "proto": "udp", "accept": ["tag:web:443"]}').replace(
        '"dst": ["tag:web:443"]}',
        '"proto": "tcp", "dst": ["tag:web:443"]}',
      ),
    );
    expect(r.diagnostics.map((d) => d.code)).toEqual(['policy.test_failed']);
  });

  it('reject destinations that are not one host and one port', () => {
    expect(
      parsePolicy(base('{"src": "alice@example.com", "accept": ["tag:web:80-90"]}')).diagnostics.map((d) => d.code),
    ).toEqual(['policy.invalid_ports']);
    expect(
      parsePolicy(base('{"src": "alice@example.com", "accept": ["group:eng:22"]}')).diagnostics.map((d) => d.code),
    ).toEqual(['policy.invalid_selector']);
  });
});
