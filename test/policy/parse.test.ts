/**
 * parsePolicy reads HuJSON and rejects anything it cannot give a meaning to, with a stable code
 * and the line and column of the offending value.
 */
import { describe, expect, it } from 'vitest';
import { type Diagnostic, formatDiagnostic, parsePolicy } from '../../policy/index.ts';

function problems(text: string): Array<Pick<Diagnostic, 'code' | 'line' | 'column'> & { message: string }> {
  return parsePolicy(text, 'p.hujson').diagnostics.map(({ code, line, column, message }) => ({
    code,
    line,
    column,
    message,
  }));
}

function codes(text: string): string[] {
  return parsePolicy(text, 'p.hujson').diagnostics.map((d) => d.code);
}

const TAGS = '"tagOwners": {"tag:web": ["alice@example.com"]}';

describe('parsePolicy: HuJSON', () => {
  it('accepts comments and trailing commas', () => {
    const r = parsePolicy(
      `// top\n{\n  /* block */ "acls": [\n    {"action": "accept", "src": ["*"], "dst": ["*:*"],},\n  ],\n}\n`,
    );
    expect(r.diagnostics).toEqual([]);
    expect(r.policy?.rules).toHaveLength(1);
  });

  it('reports syntax errors with their position', () => {
    expect(problems('{\n  "acls": [\n    {"action" "accept"}\n  ]\n}')).toEqual([
      { code: 'syntax', line: 3, column: 15, message: 'syntax error: expected ":"' },
    ]);
  });

  it('formats a diagnostic as FILE:LINE:COL: message', () => {
    const [d] = parsePolicy('{"nope": 1}', 'policy.hujson').diagnostics;
    expect(d && formatDiagnostic(d)).toBe(
      'policy.hujson:1:2: unknown section "nope" (expected one of groups, tagOwners, hosts, acls, grants, autoApprovers, tests, workloads)',
    );
  });

  it('rejects an empty file and a policy that is not an object', () => {
    expect(codes('')).toEqual(['syntax']);
    expect(codes('[]')).toEqual(['type']);
  });
});

describe('parsePolicy: sections and fields', () => {
  it('refuses Tailscale sections Trellis does not implement, rather than ignoring them', () => {
    for (const s of ['ssh', 'nodeAttrs', 'postures', 'ipsets', 'derpMap']) {
      expect(codes(`{"${s}": []}`)).toEqual(['unsupported-section']);
    }
  });

  it('rejects unknown fields, unsupported fields, duplicates and missing fields', () => {
    expect(problems('{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"], "dsts": []}]}')[0]).toMatchObject({
      code: 'unknown-field',
      column: 62,
    });
    expect(codes('{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"], "srcPosture": []}]}')).toEqual([
      'unsupported-field',
    ]);
    expect(codes('{"acls": [{"action": "accept", "src": ["*"], "src": ["*"], "dst": ["*:*"]}]}')).toEqual([
      'duplicate-key',
    ]);
    expect(codes('{"acls": [{"action": "accept", "src": ["*"]}]}')).toEqual(['missing-field']);
    expect(codes('{"acls": {}}')).toEqual(['type']);
    expect(codes('{"acls": [{"action": "accept", "src": "*", "dst": ["*:*"]}]}')).toEqual(['type']);
  });

  it('accepts only the accept action', () => {
    expect(codes('{"acls": [{"action": "deny", "src": ["*"], "dst": ["*:*"]}]}')).toEqual(['invalid-action']);
  });
});

describe('parsePolicy: selectors', () => {
  it('requires groups, tags and hosts to be defined', () => {
    expect(
      problems(`{${TAGS}, "acls": [{"action": "accept", "src": ["group:eng"], "dst": ["tag:db:22", "db1:22"]}]}`),
    ).toEqual([
      {
        code: 'undefined-group',
        line: 1,
        column: 89,
        message: 'acls[0] src: group "group:eng" is not defined in groups',
      },
      {
        code: 'undefined-tag',
        line: 1,
        column: 111,
        message: 'acls[0] dst: tag "tag:db" has no owner: declare it in tagOwners',
      },
      {
        code: 'undefined-host',
        line: 1,
        column: 124,
        message:
          'acls[0] dst: "db1" is not an IP, a CIDR, a user, a group, a tag, an autogroup or a host defined in hosts',
      },
    ]);
  });

  it('rejects malformed tags, CIDRs and autogroups', () => {
    expect(codes('{"tagOwners": {"tag:1bad": []}}')).toEqual(['invalid-name']);
    expect(codes('{"acls": [{"action": "accept", "src": ["10.0.0.1/8"], "dst": ["*:*"]}]}')).toEqual([
      'invalid-prefix',
    ]);
    expect(codes('{"acls": [{"action": "accept", "src": ["300.1.1.1"], "dst": ["*:*"]}]}')).toEqual(['invalid-prefix']);
    expect(codes('{"acls": [{"action": "accept", "src": ["autogroup:admin"], "dst": ["*:*"]}]}')).toEqual([
      'invalid-selector',
    ]);
    expect(codes('{"acls": [{"action": "accept", "src": ["autogroup:nope"], "dst": ["*:*"]}]}')).toEqual([
      'invalid-selector',
    ]);
  });

  it('keeps autogroup:self and autogroup:internet on the destination side', () => {
    expect(codes('{"acls": [{"action": "accept", "src": ["autogroup:self"], "dst": ["*:*"]}]}')).toEqual([
      'self-source',
    ]);
    expect(codes('{"acls": [{"action": "accept", "src": ["autogroup:internet"], "dst": ["*:*"]}]}')).toEqual([
      'self-source',
    ]);
  });

  it('pairs autogroup:self only with sources that have users', () => {
    expect(
      codes('{"acls": [{"action": "accept", "src": ["*", "autogroup:member", "a@b.c"], "dst": ["autogroup:self:*"]}]}'),
    ).toEqual([]);
    expect(codes(`{${TAGS}, "acls": [{"action": "accept", "src": ["tag:web"], "dst": ["autogroup:self:*"]}]}`)).toEqual(
      ['self-mixed-source'],
    );
  });

  it('reads IPv6 destinations in brackets', () => {
    const r = parsePolicy('{"acls": [{"action": "accept", "src": ["*"], "dst": ["[fd7a::1]:22", "fd7a::/64:80"]}]}');
    expect(r.diagnostics).toEqual([]);
    expect(r.policy?.rules[0]?.dst.map((d) => d.selector.value.kind)).toEqual(['prefix', 'prefix']);
  });
});

describe('parsePolicy: ports and protocols', () => {
  const acl = (dst: string, proto?: string) =>
    codes(`{"acls": [{"action": "accept", "src": ["*"], ${proto ? `"proto": "${proto}", ` : ''}"dst": ["${dst}"]}]}`);

  it('accepts *, single ports, lists and ranges', () => {
    for (const d of ['*:*', '*:22', '*:80,443', '*:8000-8100', '*:1-65535']) expect(acl(d)).toEqual([]);
  });

  it('rejects ports that are not numbers 1-65535 in order, and destinations without ports', () => {
    for (const d of ['*:ssh', '*:0', '*:65536', '*:90-80', '*:', '*']) expect(acl(d)).toEqual(['invalid-ports']);
  });

  it('takes protocol names or numbers, and only lets TCP, UDP and SCTP name ports', () => {
    expect(acl('*:22', 'tcp')).toEqual([]);
    expect(acl('*:*', '1')).toEqual([]);
    expect(acl('*:*', 'icmp')).toEqual([]);
    expect(acl('*:22', 'icmp')).toEqual(['invalid-ports']);
    expect(acl('*:22', 'bogus')).toEqual(['invalid-proto']);
    expect(acl('*:22', '256')).toEqual(['invalid-proto']);
  });

  it('gives a rule without proto the default protocols TCP, UDP, ICMP and ICMPv6', () => {
    expect(
      parsePolicy('{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]}').policy?.rules[0]?.protos,
    ).toEqual([6, 17, 1, 58]);
  });
});

describe('parsePolicy: groups', () => {
  it('takes users, identity-provider groups and nested groups as members', () => {
    const r = parsePolicy(
      '{"groups": {"group:sre": ["carol@example.com", "idp:sre-team", "group:oncall"], "group:oncall": ["dave@example.com"]}}',
    );
    expect(r.diagnostics).toEqual([]);
    expect(r.policy?.groupsOfIdpGroup.get('sre-team')).toEqual(new Set(['group:sre']));
    expect(r.policy?.groupsOfUser.get('dave@example.com')).toEqual(new Set(['group:oncall', 'group:sre']));
  });

  it('rejects a cycle of nested groups, naming the path', () => {
    expect(problems('{"groups": {"group:a": ["group:b"], "group:b": ["group:a"]}}')).toEqual([
      { code: 'group-cycle', line: 1, column: 13, message: 'groups contain each other: group:a -> group:b -> group:a' },
    ]);
  });

  it('rejects members that are neither users, idp: groups nor groups', () => {
    expect(codes('{"groups": {"group:a": ["tag:x"]}}')).toEqual(['invalid-selector']);
    expect(codes('{"groups": {"group:a": ["idp:"]}}')).toEqual(['invalid-selector']);
    expect(codes('{"groups": {"eng": []}}')).toEqual(['invalid-name']);
  });
});

describe('parsePolicy: grants', () => {
  it('turns ip entries into one rule per protocol and app into capability rules', () => {
    const r = parsePolicy(
      `{${TAGS}, "grants": [{"src": ["*"], "dst": ["tag:web"], "ip": ["tcp:443", "udp:53", "8080"], "app": {"example.com/cap/k8s": [{"groups": ["admins"]}]}}]}`,
    );
    expect(r.diagnostics).toEqual([]);
    expect(r.policy?.rules.map((x) => [x.protos, x.dst[0]?.ports, x.app])).toEqual([
      [[6], [{ first: 443, last: 443 }], undefined],
      [[17], [{ first: 53, last: 53 }], undefined],
      [[6, 17, 1, 58], [{ first: 8080, last: 8080 }], undefined],
      [[6, 17, 1, 58], [], { 'example.com/cap/k8s': [{ groups: ['admins'] }] }],
    ]);
  });

  it('rejects grants without ip or app, with ports in dst, or with via', () => {
    expect(codes('{"grants": [{"src": ["*"], "dst": ["*"]}]}')).toEqual(['missing-field']);
    expect(
      problems(`{${TAGS}, "grants": [{"src": ["*"], "dst": ["tag:web:443"], "ip": ["*"]}]}`)[0]?.message,
    ).toContain('grants name ports in "ip"');
    expect(codes('{"grants": [{"src": ["*"], "dst": ["*"], "ip": ["*"], "via": ["tag:x"]}]}')).toEqual([
      'unsupported-field',
    ]);
  });
});

describe('parsePolicy: workloads', () => {
  it('maps SPIFFE ID patterns and Kubernetes service accounts to declared tags', () => {
    const r = parsePolicy(`{${TAGS}, "workloads": [
      {"spiffe": "spiffe://prod.example.org/ns/payments/*", "tags": ["tag:web"]},
      {"kubernetes": {"cluster": "prod", "namespace": "payments", "serviceAccount": "api"}, "tags": ["tag:web"]},
    ]}`);
    expect(r.diagnostics).toEqual([]);
    expect(r.policy?.workloads).toHaveLength(2);
  });

  it('rejects malformed patterns, both or neither identity, and undeclared tags', () => {
    expect(codes(`{${TAGS}, "workloads": [{"spiffe": "spiffe://Prod/x", "tags": ["tag:web"]}]}`)).toEqual([
      'invalid-workload',
    ]);
    expect(codes(`{${TAGS}, "workloads": [{"spiffe": "spiffe://prod/a/../b", "tags": ["tag:web"]}]}`)).toEqual([
      'invalid-workload',
    ]);
    expect(codes(`{${TAGS}, "workloads": [{"tags": ["tag:web"]}]}`)).toEqual(['invalid-workload']);
    expect(codes(`{${TAGS}, "workloads": [{"spiffe": "spiffe://prod/x", "tags": ["tag:db"]}]}`)).toEqual([
      'undefined-tag',
    ]);
  });
});
