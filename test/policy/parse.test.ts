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
      { code: 'policy.syntax', line: 3, column: 15, message: 'syntax error: expected ":"' },
    ]);
  });

  it('formats a diagnostic as FILE:LINE:COL: message', () => {
    const [d] = parsePolicy('{"nope": 1}', 'policy.hujson').diagnostics;
    expect(d && formatDiagnostic(d)).toBe(
      'policy.hujson:1:2: unknown section "nope" (expected one of groups, tagOwners, hosts, acls, grants, autoApprovers, tests, workloads)',
    );
  });

  it('rejects an empty file and a policy that is not an object', () => {
    expect(codes('')).toEqual(['policy.syntax']);
    expect(codes('[]')).toEqual(['policy.wrong_type']);
  });
});

describe('parsePolicy: sections and fields', () => {
  it('refuses Tailscale sections Trellis does not implement, rather than ignoring them', () => {
    for (const s of ['ssh', 'nodeAttrs', 'postures', 'ipsets', 'derpMap']) {
      expect(codes(`{"${s}": []}`)).toEqual(['policy.unsupported_section']);
    }
  });

  it('rejects unknown fields, unsupported fields, duplicates and missing fields', () => {
    expect(problems('{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"], "dsts": []}]}')[0]).toMatchObject({
      code: 'policy.unknown_field',
      column: 62,
    });
    expect(codes('{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"], "srcPosture": []}]}')).toEqual([
      'policy.unsupported_field',
    ]);
    expect(codes('{"acls": [{"action": "accept", "src": ["*"], "src": ["*"], "dst": ["*:*"]}]}')).toEqual([
      'policy.duplicate_key',
    ]);
    expect(codes('{"acls": [{"action": "accept", "src": ["*"]}]}')).toEqual(['policy.missing_field']);
    expect(codes('{"acls": {}}')).toEqual(['policy.wrong_type']);
    expect(codes('{"acls": [{"action": "accept", "src": "*", "dst": ["*:*"]}]}')).toEqual(['policy.wrong_type']);
  });

  it('accepts only the accept action', () => {
    expect(codes('{"acls": [{"action": "deny", "src": ["*"], "dst": ["*:*"]}]}')).toEqual(['policy.invalid_action']);
  });
});

describe('parsePolicy: selectors', () => {
  it('requires groups, tags and hosts to be defined', () => {
    expect(
      problems(`{${TAGS}, "acls": [{"action": "accept", "src": ["group:eng"], "dst": ["tag:db:22", "db1:22"]}]}`),
    ).toEqual([
      {
        code: 'policy.unknown_group',
        line: 1,
        column: 89,
        message: 'acls[0] src: group "group:eng" is not defined in groups',
      },
      {
        code: 'policy.unknown_tag',
        line: 1,
        column: 111,
        message: 'acls[0] dst: tag "tag:db" has no owner: declare it in tagOwners',
      },
      {
        code: 'policy.unknown_host',
        line: 1,
        column: 124,
        message:
          'acls[0] dst: "db1" is not an IP, a CIDR, a user, a group, a tag, an autogroup or a host defined in hosts',
      },
    ]);
  });

  it('takes host names made of hex digits (db1, cafe) as names, and refuses names that read as addresses', () => {
    // Found by the policy fuzzer: "db1" was refused as "not a host name" because it is all hex digits.
    const r = parsePolicy(
      '{"hosts": {"db1": "10.0.0.1", "cafe": "10.0.0.2"}, "acls": [{"action": "accept", "src": ["*"], "dst": ["db1:22", "cafe:80"]}]}',
    );
    expect(r.diagnostics).toEqual([]);
    expect(codes('{"hosts": {"10.1": "10.0.0.1"}}')).toEqual(['policy.invalid_name']);
    expect(codes('{"hosts": {"fd00::1": "10.0.0.1"}}')).toEqual(['policy.invalid_name']);
  });

  it('rejects malformed tags, CIDRs and autogroups', () => {
    expect(codes('{"tagOwners": {"tag:1bad": []}}')).toEqual(['policy.invalid_name']);
    expect(codes('{"acls": [{"action": "accept", "src": ["10.0.0.1/8"], "dst": ["*:*"]}]}')).toEqual([
      'policy.invalid_prefix',
    ]);
    expect(codes('{"acls": [{"action": "accept", "src": ["300.1.1.1"], "dst": ["*:*"]}]}')).toEqual([
      'policy.invalid_prefix',
    ]);
    expect(codes('{"acls": [{"action": "accept", "src": ["autogroup:admin"], "dst": ["*:*"]}]}')).toEqual([
      'policy.invalid_selector',
    ]);
    expect(codes('{"acls": [{"action": "accept", "src": ["autogroup:nope"], "dst": ["*:*"]}]}')).toEqual([
      'policy.invalid_selector',
    ]);
  });

  it('keeps autogroup:self and autogroup:internet on the destination side', () => {
    expect(codes('{"acls": [{"action": "accept", "src": ["autogroup:self"], "dst": ["*:*"]}]}')).toEqual([
      'policy.self_source',
    ]);
    expect(codes('{"acls": [{"action": "accept", "src": ["autogroup:internet"], "dst": ["*:*"]}]}')).toEqual([
      'policy.self_source',
    ]);
  });

  it('pairs autogroup:self only with sources that have users', () => {
    expect(
      codes('{"acls": [{"action": "accept", "src": ["*", "autogroup:member", "a@b.c"], "dst": ["autogroup:self:*"]}]}'),
    ).toEqual([]);
    expect(codes(`{${TAGS}, "acls": [{"action": "accept", "src": ["tag:web"], "dst": ["autogroup:self:*"]}]}`)).toEqual(
      ['policy.self_mixed_source'],
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
    for (const d of ['*:ssh', '*:0', '*:65536', '*:90-80', '*:', '*']) expect(acl(d)).toEqual(['policy.invalid_ports']);
  });

  it('takes protocol names or numbers, and only lets TCP, UDP and SCTP name ports', () => {
    expect(acl('*:22', 'tcp')).toEqual([]);
    expect(acl('*:*', '1')).toEqual([]);
    expect(acl('*:*', 'icmp')).toEqual([]);
    expect(acl('*:22', 'icmp')).toEqual(['policy.invalid_ports']);
    expect(acl('*:22', 'bogus')).toEqual(['policy.invalid_proto']);
    expect(acl('*:22', '256')).toEqual(['policy.invalid_proto']);
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
      {
        code: 'policy.group_cycle',
        line: 1,
        column: 13,
        message: 'groups contain each other: group:a -> group:b -> group:a',
      },
    ]);
  });

  it('rejects members that are neither users, idp: groups nor groups', () => {
    expect(codes('{"groups": {"group:a": ["tag:x"]}}')).toEqual(['policy.invalid_selector']);
    expect(codes('{"groups": {"group:a": ["idp:"]}}')).toEqual(['policy.invalid_selector']);
    expect(codes('{"groups": {"eng": []}}')).toEqual(['policy.invalid_name']);
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

  it('rejects grants without ip or app, with ports in dst, or with via through an undeclared tag or to a node', () => {
    expect(codes('{"grants": [{"src": ["*"], "dst": ["*"]}]}')).toEqual(['policy.empty_grant']);
    expect(
      problems(`{${TAGS}, "grants": [{"src": ["*"], "dst": ["tag:web:443"], "ip": ["*"]}]}`)[0]?.message,
    ).toContain('grants name ports in "ip"');
    expect(codes('{"grants": [{"src": ["*"], "dst": ["10.0.0.0/8"], "ip": ["*"], "via": ["tag:x"]}]}')).toEqual([
      'policy.unknown_tag',
    ]);
    expect(codes(`{${TAGS}, "grants": [{"src": ["*"], "dst": ["*"], "ip": ["*"], "via": ["tag:web"]}]}`)).toEqual([
      'policy.via_destination',
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
      'policy.invalid_workload',
    ]);
    expect(codes(`{${TAGS}, "workloads": [{"spiffe": "spiffe://prod/a/../b", "tags": ["tag:web"]}]}`)).toEqual([
      'policy.invalid_workload',
    ]);
    expect(codes(`{${TAGS}, "workloads": [{"tags": ["tag:web"]}]}`)).toEqual(['policy.invalid_workload']);
    expect(codes(`{${TAGS}, "workloads": [{"spiffe": "spiffe://prod/x", "tags": ["tag:db"]}]}`)).toEqual([
      'policy.unknown_tag',
    ]);
  });
});
