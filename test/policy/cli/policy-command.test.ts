/**
 * `trellis policy ...`, run in-process against real files, with stdout and stderr captured.
 * (Lives under test/policy/ because the CLI is the policy library's front end.)
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { type CliIO, policyCommand } from '../../../client/cli/policy/index.ts';
import { processIO } from '../../../client/cli/policy/io.ts';
import { Explanation } from '../../../protocol/policy-admin.ts';

let dir: string;
let out: string[];
let err: string[];
const io: CliIO = {
  ...processIO,
  stdout: (t) => {
    out.push(t);
  },
  stderr: (t) => {
    err.push(t);
  },
};

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const POLICY = `{
  // who is who
  "groups": {"group:eng": ["alice@example.com"]},
  "tagOwners": {"tag:web": ["group:eng"], "tag:db": ["group:eng"]},
  "acls": [
    {"action": "accept", "src": ["group:eng"], "dst": ["tag:web:443"]},
    {"action": "accept", "src": ["tag:web"], "dst": ["tag:db:5432"]},
  ],
  "tests": [{"src": "alice@example.com", "accept": ["tag:web:443"], "deny": ["tag:db:5432"]}],
}
`;

const TOPOLOGY = JSON.stringify({
  users: [{ name: 'alice', email: 'alice@example.com' }],
  nodes: {
    laptop: {
      user: 'alice@example.com',
      tags: [],
      ipv4: '100.64.0.1',
      ipv6: 'fd7a:115c:a1e0::1',
      routableIPs: [],
      approvedRoutes: [],
    },
    web: { tags: ['tag:web'], ipv4: '100.64.0.2', ipv6: 'fd7a:115c:a1e0::2', routableIPs: [], approvedRoutes: [] },
    db: { tags: ['tag:db'], ipv4: '100.64.0.3', ipv6: 'fd7a:115c:a1e0::3', routableIPs: [], approvedRoutes: [] },
  },
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'trellis-policy-cli-'));
  out = [];
  err = [];
});

describe('trellis policy check', () => {
  it('accepts a valid policy whose tests pass', async () => {
    const p = file('policy.hujson', POLICY);
    expect(await policyCommand(['check', p], io)).toBe(0);
    expect(out.join('\n')).toContain('ok (2 rules, 1 tests passed)');
  });

  it('exits 1 and prints every problem as FILE:LINE:COL: message', async () => {
    const p = file(
      'bad.hujson',
      POLICY.replace('  "acls": [', '  "ssh": [],\n  "acls": [').replace('tag:web:443', 'tag:nope:443'),
    );
    expect(await policyCommand(['check', p], io)).toBe(1);
    expect(err).toEqual([
      `${p}:5:3: section "ssh" is not supported by Trellis: Tailscale SSH is not implemented`,
      `${p}:7:56: acls[0] dst: tag "tag:nope" has no owner: declare it in tagOwners`,
    ]);
  });

  it('rejects a policy whose embedded test fails, pointing at the test', async () => {
    const p = file('p.hujson', POLICY.replace('"src": ["tag:web"]', '"src": ["tag:web", "group:eng"]'));
    expect(await policyCommand(['check', p], io)).toBe(1);
    expect(err[0]).toMatch(
      /p\.hujson:9:78: test failed: alice@example\.com should not reach tag:db:5432, but alice@example\.com can through the rule at .*p\.hujson:7:5/,
    );
  });
});

describe('trellis policy fmt', () => {
  it('prints canonical formatting and keeps comments', async () => {
    const p = file('p.hujson', '{"acls":[ // all\n{"action":"accept","src":["*"],"dst":["*:*"]}]}');
    expect(await policyCommand(['fmt', p], io)).toBe(0);
    expect(out.join('')).toContain('// all');
    expect(out.join('')).toContain('\n  "acls"');
  });

  it('--write rewrites the file, after which --check passes', async () => {
    const p = file('p.hujson', '{"acls":[{"action":"accept","src":["*"],"dst":["*:*"]}]}');
    expect(await policyCommand(['fmt', p, '--check'], io)).toBe(1);
    expect(await policyCommand(['fmt', p, '--write'], io)).toBe(0);
    expect(readFileSync(p, 'utf8')).not.toBe('{"acls":[{"action":"accept","src":["*"],"dst":["*:*"]}]}');
    expect(await policyCommand(['fmt', p, '--check'], io)).toBe(0);
  });

  it('refuses to format a file it cannot parse', async () => {
    const p = file('p.hujson', '{"acls": [}');
    expect(await policyCommand(['fmt', p], io)).toBe(1);
    expect(err[0]).toMatch(/p\.hujson:1:11: syntax error/);
  });
});

describe('trellis policy compile', () => {
  it("prints each node's peers and filter in Tailscale's shape", async () => {
    const p = file('p.hujson', POLICY);
    const t = file('t.json', TOPOLOGY);
    expect(await policyCommand(['compile', '--policy', p, '--topology', t, '--format', 'tailscale'], io)).toBe(0);
    const result = JSON.parse(out.join(''));
    expect(result.nodes.laptop.peers).toEqual(['web']);
    expect(result.nodes.web.peers).toEqual(['db', 'laptop']);
    expect(result.nodes.db.packetFilter).toEqual([
      {
        SrcIPs: ['100.64.0.2', 'fd7a:115c:a1e0::2'],
        DstPorts: [
          { IP: '100.64.0.3', Ports: { First: 5432, Last: 5432 } },
          { IP: 'fd7a:115c:a1e0::3', Ports: { First: 5432, Last: 5432 } },
        ],
        IPProto: [6, 17, 1, 58],
      },
    ]);
  });

  it('reads the conformance topology format', async () => {
    const c = JSON.parse(
      readFileSync(join(import.meta.dirname, '../../fixtures/conformance/tailscale-acl/acl-t01.json'), 'utf8'),
    );
    const p = file('p.json', c.policy);
    const t = file('t.json', JSON.stringify(c.topology));
    expect(await policyCommand(['compile', '--policy', p, '--topology', t], io)).toBe(0);
    const result = JSON.parse(out.join(''));
    for (const [name, e] of Object.entries(c.expect as Record<string, { peers: Array<{ name: string }> }>)) {
      expect(result.nodes[name].peers).toEqual(e.peers.map((x) => x.name).sort());
    }
  });

  it('exits 1 on a rejected policy', async () => {
    const p = file('p.hujson', '{"acls": [{"action": "deny", "src": ["*"], "dst": ["*:*"]}]}');
    const t = file('t.json', TOPOLOGY);
    expect(await policyCommand(['compile', '--policy', p, '--topology', t], io)).toBe(1);
    expect(err[0]).toContain('p.hujson:1:22: acls[0]: action "deny" is not supported');
  });
});

describe('trellis policy eval', () => {
  it('says which rule allows a connection', async () => {
    const args = ['eval', '--policy', file('p.hujson', POLICY), '--topology', file('t.json', TOPOLOGY)];
    expect(await policyCommand([...args, '--src', 'laptop', '--dst', 'web:443'], io)).toBe(0);
    expect(out.join('\n')).toMatch(
      /^accept: laptop -> web:443\/tcp\n {2}allowed by .*p\.hujson:6:5: group:eng -> tag:web:443$/,
    );
  });

  it('says why nothing allows a connection, and exits 1 so that a script can tell', async () => {
    const args = ['eval', '--policy', file('p.hujson', POLICY), '--topology', file('t.json', TOPOLOGY)];
    expect(await policyCommand([...args, '--src', 'laptop', '--dst', 'db:5432'], io)).toBe(1);
    expect(out.join('\n')).toContain('deny: laptop -> db:5432/tcp: no rule allows it');
    expect(out.join('\n')).toContain(
      'tag:web -> tag:db:5432 reaches db:5432 but only from tag:web, and laptop (user alice@example.com, in group:eng) is not one of them',
    );
  });

  it("prints the answer as JSON with --json (the server explain API's shape), with the same exit status", async () => {
    const args = ['eval', '--json', '--policy', file('p.hujson', POLICY), '--topology', file('t.json', TOPOLOGY)];
    expect(await policyCommand([...args, '--src', 'laptop', '--dst', 'web:443'], io)).toBe(0);
    const accepted = Explanation.parse(JSON.parse(out.join('')));
    expect(accepted).toMatchObject({ verdict: 'accept', src: { name: 'laptop' }, dst: { name: 'web' }, port: 443 });
    expect(accepted.allowedBy.map((r) => [r.line, r.column, r.summary])).toEqual([[6, 5, 'group:eng -> tag:web:443']]);
    expect(accepted.text).toMatch(/^accept: laptop -> web:443\/tcp/);
    out = [];
    expect(await policyCommand([...args, '--src', 'laptop', '--dst', 'db:5432'], io)).toBe(1);
    const denied = Explanation.parse(JSON.parse(out.join('')));
    expect([denied.verdict, denied.allowedBy]).toEqual(['deny', []]);
    expect(denied.reasons.join('\n')).toMatch(/p\.hujson:7:5: .*only from tag:web/);
  });

  it('exits 2 on a malformed destination', async () => {
    const args = ['eval', '--policy', file('p.hujson', POLICY), '--topology', file('t.json', TOPOLOGY)];
    expect(await policyCommand([...args, '--src', 'laptop', '--dst', 'db'], io)).toBe(2);
    expect(err[0]).toContain('write NODE:PORT or ADDRESS:PORT');
  });

  it('exits 2, never 1, when there is no verdict: an unknown node, a bad policy or topology', async () => {
    const t = file('t.json', TOPOLOGY);
    const bad = file('bad.hujson', '{"acls": [{"action": "deny", "src": ["*"], "dst": ["*:*"]}]}');
    const cases: Array<[string[], RegExp]> = [
      [['--policy', file('p.hujson', POLICY), '--topology', t, '--src', 'nobody'], /no node "nobody"/],
      [['--policy', bad, '--topology', t, '--src', 'laptop'], /bad\.hujson:1:22: /],
      [
        ['--policy', file('p.hujson', POLICY), '--topology', file('n.json', '{"nodes": 3}'), '--src', 'laptop'],
        /not a topology: nodes/,
      ],
      [['--policy', join(dir, 'absent.hujson'), '--topology', t, '--src', 'laptop'], /cannot read/],
    ];
    for (const [argv, message] of cases) {
      err = [];
      expect(await policyCommand(['eval', ...argv, '--dst', 'db:5432'], io), argv.join(' ')).toBe(2);
      expect(err.join('\n')).toMatch(message);
    }
  });

  describe('to an address behind a router (as the server explains it)', () => {
    const ROUTED = `{
      "tagOwners": {"tag:router": [], "tag:exit": []},
      "acls": [
        {"action": "accept", "src": ["alice@example.com"], "dst": ["10.1.0.0/16:22"]},
        {"action": "accept", "src": ["alice@example.com"], "dst": ["autogroup:internet:443"]},
      ],
    }`;
    const node = (ipv4: string, tags: string[], routes: string[], user?: string) => ({
      ...(user && { user }),
      tags,
      ipv4,
      ipv6: '',
      routableIPs: routes,
      approvedRoutes: routes,
    });
    const topology = JSON.stringify({
      nodes: {
        laptop: node('100.64.0.1', [], [], 'alice@example.com'),
        'router-b': node('100.64.0.3', ['tag:router'], ['10.1.0.0/16']),
        'router-a': node('100.64.0.2', ['tag:router'], ['10.1.0.0/16']),
        exit: node('100.64.0.4', ['tag:exit'], ['0.0.0.0/0', '::/0']),
      },
    });
    const args = () => ['eval', '--policy', file('r.hujson', ROUTED), '--topology', file('rt.json', topology)];

    it('names the subnet router (the first approved by name on a file) and the rule', async () => {
      expect(await policyCommand([...args(), '--src', 'laptop', '--dst', '10.1.2.3:22'], io)).toBe(0);
      expect(out.join('\n')).toMatch(
        /^accept: laptop -> 10\.1\.2\.3:22\/tcp via router router-a \(10\.1\.0\.0\/16\)\n {2}allowed by .*r\.hujson:4:9: /,
      );
      expect(await policyCommand([...args(), '--src', 'laptop', '--dst', '10.1.2.3:80'], io)).toBe(1);
    });

    it('goes through an exit node the source may use, for IPv4 and [IPv6]:PORT', async () => {
      expect(await policyCommand([...args(), '--src', 'laptop', '--dst', '93.184.216.34:443'], io)).toBe(0);
      expect(out.join('\n')).toContain('via exit node exit (0.0.0.0/0)');
      out = [];
      expect(await policyCommand([...args(), '--src', 'laptop', '--dst', '[2606:2800::1]:443'], io)).toBe(0);
      expect(out.join('\n')).toContain('via exit node exit (::/0)');
    });

    it('names the router and its prefix in the JSON answer', async () => {
      expect(await policyCommand([...args(), '--json', '--src', 'laptop', '--dst', '10.1.2.3:22'], io)).toBe(0);
      const answer = Explanation.parse(JSON.parse(out.join('')));
      expect(answer.dst).toEqual({ id: '10.1.2.3', name: '10.1.2.3' });
      expect(answer.via).toMatchObject({ kind: 'subnet', router: { name: 'router-a' }, prefix: '10.1.0.0/16' });
    });

    it('denies an address inside the mesh that no node has', async () => {
      expect(await policyCommand([...args(), '--src', 'laptop', '--dst', '100.64.9.9:22'], io)).toBe(1);
      expect(out.join('\n')).toContain("inside the mesh's range");
    });
  });

  it('exits 2 on a protocol the policy language does not know', async () => {
    const args = ['eval', '--policy', file('p.hujson', POLICY), '--topology', file('t.json', TOPOLOGY)];
    expect(await policyCommand([...args, '--src', 'laptop', '--dst', 'web:443', '--proto', 'pigeon'], io)).toBe(2);
    expect(err[0]).toContain('pigeon');
  });
});

describe('trellis policy diff', () => {
  const changed = POLICY.replace('"dst": ["tag:web:443"]', '"dst": ["tag:web:443,8443", "tag:db:5432"]')
    .replace(', "deny": ["tag:db:5432"]', '')
    .replace('"src": ["tag:web"], "dst": ["tag:db:5432"]', '"src": ["tag:web"], "dst": ["tag:db:6432"]');

  it('lists access granted and revoked', async () => {
    const args = [
      'diff',
      file('old.hujson', POLICY),
      file('new.hujson', changed),
      '--topology',
      file('t.json', TOPOLOGY),
    ];
    expect(await policyCommand(args, io)).toBe(0);
    expect(out.join('\n')).toBe(
      [
        'granted (3):',
        '  + laptop -> db 5432 (icmp,tcp,udp,ipv6-icmp)',
        '  + laptop -> web 8443 (icmp,tcp,udp,ipv6-icmp)',
        '  + web -> db 6432 (icmp,tcp,udp,ipv6-icmp)',
        'revoked (1):',
        '  - web -> db 5432 (icmp,tcp,udp,ipv6-icmp)',
      ].join('\n'),
    );
  });

  it('prints JSON with --json, and says when nothing changes', async () => {
    const t = file('t.json', TOPOLOGY);
    expect(
      await policyCommand(['diff', file('a.hujson', POLICY), file('b.hujson', changed), '--topology', t, '--json'], io),
    ).toBe(0);
    expect(JSON.parse(out.join('')).revoked).toEqual([
      { src: 'web', dst: 'db', protos: 'icmp,tcp,udp,ipv6-icmp', ports: '5432' },
    ]);
    out = [];
    expect(await policyCommand(['diff', file('c.hujson', POLICY), file('d.hujson', POLICY), '--topology', t], io)).toBe(
      0,
    );
    expect(out).toEqual(['no change in access']);
  });
});

describe('trellis policy (usage)', () => {
  it('exits 2 with usage on an unknown command', async () => {
    expect(await policyCommand(['frobnicate'], io)).toBe(2);
    expect(err[0]).toContain('unknown command "frobnicate"');
  });

  it('reports a missing file plainly', async () => {
    expect(await policyCommand(['check', join(dir, 'absent.hujson')], io)).toBe(1);
    expect(err[0]).toMatch(/absent\.hujson: cannot read: ENOENT/);
  });
});
