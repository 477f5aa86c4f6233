import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeView, PolicyView, PreAuthKeyView, UserView } from '../../../protocol/admin.ts';
import type { CliIO } from '../../../server/cli/io.ts';
import { main } from '../../../server/cli/main.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';

interface Run {
  code: number;
  out: string;
  err: string;
}

const POLICY = `{
  "tagOwners": {"tag:web": ["cli@example.com"]},
  "acls": [{"action": "accept", "src": ["*"], "dst": ["tag:web:*"]}],
}
`;

describe('trellis-server admin CLI', () => {
  let ts: TestServer;
  let dir: string;
  const agents: TestAgent[] = [];

  /** Runs the CLI in this process with captured output, against the test server unless told otherwise. */
  async function cli(
    args: string[],
    env: NodeJS.ProcessEnv = { TRELLIS_SERVER: ts.url, TRELLIS_API_KEY: ts.adminKey },
  ): Promise<Run> {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIO = { out: (l) => out.push(l), err: (l) => err.push(l), env };
    const code = await main(args, io);
    return { code, out: out.join('\n'), err: err.join('\n') };
  }
  async function succeeds(args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
    const r = await cli(args, env);
    expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(0);
    return r.out;
  }
  function policyFile(name: string, text: string): string {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  }

  beforeAll(async () => {
    ts = await startTestServer();
    dir = mkdtempSync(join(tmpdir(), 'trellis-cli-'));
  });
  afterAll(async () => {
    for (const a of agents) a.stop();
    await ts?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('users', () => {
    it('creates a user and prints it', async () => {
      const out = await succeeds([
        'users',
        'create',
        'cli@example.com',
        '--name',
        'CLI User',
        '--group',
        'eng',
        '--group',
        'ops',
      ]);
      expect(UserView.parse(JSON.parse(out))).toMatchObject({
        email: 'cli@example.com',
        displayName: 'CLI User',
        groups: ['eng', 'ops'],
      });
    });

    it('lists users as JSON with --json', async () => {
      const users = UserView.array().parse(JSON.parse(await succeeds(['users', 'list', '--json'])));
      expect(users.map((u) => u.email)).toContain('cli@example.com');
    });

    it('lists users as a table without --json', async () => {
      const lines = (await succeeds(['users', 'list'])).split('\n');
      expect(lines[0]).toMatch(/^ID\s+EMAIL\s+NAME\s+GROUPS$/);
      expect(lines.find((l) => l.includes('cli@example.com'))).toMatch(/CLI User\s+eng,ops$/);
    });

    it('deletes a user', async () => {
      const u = UserView.parse(JSON.parse(await succeeds(['users', 'create', 'gone@example.com'])));
      expect(await succeeds(['users', 'delete', u.id])).toContain(u.id);
      const users = UserView.array().parse(JSON.parse(await succeeds(['users', 'list', '--json'])));
      expect(users.map((x) => x.email)).not.toContain('gone@example.com');
    });
  });

  describe('pre-auth keys and nodes', () => {
    let secret: string;
    let nodeId: string;

    it('creates a pre-auth key and prints only its secret', async () => {
      secret = (
        await succeeds([
          'preauthkeys',
          'create',
          '--user',
          'cli@example.com',
          '--reusable',
          '--description',
          'from the cli',
        ])
      ).trim();
      expect(secret).toMatch(/^trellis-auth-[a-z0-9]{16}-[A-Za-z0-9_-]{43}$/);
    });

    it('lists pre-auth keys without their secrets', async () => {
      const out = await succeeds(['preauthkeys', 'list', '--json']);
      // The secret part is base64url, so it may hold '-' itself: split once, after the id.
      const [, id, body] = /^trellis-auth-([a-z0-9]{16})-(.+)$/.exec(secret)!;
      expect(out).not.toContain(body);
      const keys = PreAuthKeyView.array().parse(JSON.parse(out));
      expect(keys.find((k) => k.id === id)).toMatchObject({
        user: 'cli@example.com',
        reusable: true,
        description: 'from the cli',
      });
      expect(await succeeds(['preauthkeys', 'list'])).toMatch(/^ID\s+OWNER\s+REUSABLE/);
    });

    it('lists nodes as JSON once a machine has joined with the key', async () => {
      const agent = new TestAgent(ts.url, 'cli-box');
      agents.push(agent);
      const self = await agent.join(secret);
      nodeId = self.id;
      const nodes = NodeView.array().parse(JSON.parse(await succeeds(['nodes', 'list', '--json'])));
      expect(nodes.find((n) => n.id === self.id)).toMatchObject({
        name: 'cli-box',
        user: 'cli@example.com',
        ipv4: self.ipv4,
      });
      expect(await succeeds(['nodes', 'list'])).toContain(self.ipv4);
    });

    it('gets, renames, tags, expires and deletes a node', async () => {
      expect(NodeView.parse(JSON.parse(await succeeds(['nodes', 'get', nodeId]))).name).toBe('cli-box');
      expect(NodeView.parse(JSON.parse(await succeeds(['nodes', 'rename', nodeId, 'cli-renamed']))).name).toBe(
        'cli-renamed',
      );
      await succeeds(['policy', 'set', policyFile('tags.hujson', POLICY)]);
      expect(NodeView.parse(JSON.parse(await succeeds(['nodes', 'tag', nodeId, 'tag:web']))).tags).toEqual(['tag:web']);
      expect(NodeView.parse(JSON.parse(await succeeds(['nodes', 'tag', nodeId]))).tags).toEqual([]);
      expect(NodeView.parse(JSON.parse(await succeeds(['nodes', 'expire', nodeId]))).expiresAt).toBeDefined();
      expect(await succeeds(['nodes', 'delete', nodeId])).toContain(nodeId);
      const r = await cli(['nodes', 'get', nodeId]);
      expect(r.code).toBe(1);
      expect(r.err).toContain('[node.not_found]');
    });

    it('revokes a pre-auth key', async () => {
      const id = secret.split('-')[2]!;
      expect(await succeeds(['preauthkeys', 'revoke', id])).toContain(id);
      const keys = PreAuthKeyView.array().parse(JSON.parse(await succeeds(['preauthkeys', 'list', '--json'])));
      expect(keys.find((k) => k.id === id)?.revoked).toBe(true);
    });
  });

  describe('API keys', () => {
    it('creates a scoped key that then works for what its scope allows', async () => {
      const secret = (await succeeds(['apikeys', 'create', '--scope', 'read', '--description', 'ci'])).trim();
      expect(secret).toMatch(/^trellis-api-/);
      expect(await succeeds(['users', 'list', '--api-key', secret, '--server', ts.url], {})).toContain(
        'cli@example.com',
      );
      const r = await cli(['users', 'create', 'x@example.com', '--api-key', secret, '--server', ts.url], {});
      expect(r.code).toBe(1);
      expect(r.err).toContain('[api_key.scope]');
    });
  });

  describe('policy', () => {
    it('gets the active policy text, or the whole view with --json', async () => {
      const view = PolicyView.parse(JSON.parse(await succeeds(['policy', 'get', '--json'])));
      expect(await succeeds(['policy', 'get'])).toBe(view.text);
    });

    it('sets a policy from a file and reports the new version; --if-version guards against races', async () => {
      const current = PolicyView.parse(JSON.parse(await succeeds(['policy', 'get', '--json'])));
      const file = policyFile('next.hujson', POLICY.replace('tag:web:*', 'tag:web:443'));
      expect(await succeeds(['policy', 'set', file, '--if-version', String(current.version)])).toBe(
        `policy version ${current.version + 1} is now active`,
      );
      const stale = await cli(['policy', 'set', file, '--if-version', String(current.version)]);
      expect(stale.code).toBe(1);
      expect(stale.err).toContain('[policy.version_conflict]');
      expect(PolicyView.parse(JSON.parse(await succeeds(['policy', 'get', '--json']))).version).toBe(
        current.version + 1,
      );
    });

    it('lists versions, shows one, diffs two and reverts, as the console does', async () => {
      const current = PolicyView.parse(JSON.parse(await succeeds(['policy', 'get', '--json'])));
      const wider = policyFile('wider.hujson', POLICY.replace('tag:web:443', 'tag:web:*'));
      await succeeds(['policy', 'set', wider, '--if-version', String(current.version)]);
      const listed = await succeeds(['policy', 'versions']);
      expect(listed).toContain(`${current.version + 1} *`);
      expect(await succeeds(['policy', 'show', String(current.version)])).toBe(current.text);
      expect(
        await succeeds(['policy', 'diff', '--from', String(current.version), '--to', String(current.version + 1)]),
      ).toMatch(/^(no change in access|[+-] )/);
      expect(
        await succeeds(['policy', 'revert', String(current.version), '--if-version', String(current.version + 1)]),
      ).toBe(`policy version ${current.version + 2} is now active (the text of version ${current.version})`);
      const none = await cli(['policy', 'show', '9999']);
      expect([none.code, none.err]).toEqual([1, expect.stringContaining('[policy.unknown_version]')]);
    });

    it('previews a policy file: its tests and what changes, exit 1 with its problems', async () => {
      const good = policyFile('preview.hujson', POLICY);
      expect(await succeeds(['policy', 'preview', good])).toMatch(/^tests: 0 passed, 0 failed/);
      const bad = await cli(['policy', 'preview', policyFile('preview-bad.hujson', '{"acls": [{"action": "allow"}]}')]);
      expect(bad.code).toBe(1);
      expect(bad.err).toContain('preview-bad.hujson:1:');
    });

    it('makes a one-time console sign-in link', async () => {
      const out = await succeeds(['console', 'link', '--role', 'auditor', '--email', 'cli-link@example.com']);
      expect(out).toMatch(
        /\/console\/sign-in\?link=[A-Za-z0-9_-]{43}\n\(signs in cli-link@example.com as auditor once, until /,
      );
    });

    it('checks a policy file: ok, or exit 1 with the problem', async () => {
      const good = policyFile('good.hujson', POLICY);
      expect(await succeeds(['policy', 'check', good])).toBe(`${good}: ok`);
      const bad = await cli([
        'policy',
        'check',
        policyFile('bad.hujson', '{"acls": [{"action": "accept", "src": ["group:nobody"], "dst": ["*:*"]}]}'),
      ]);
      expect(bad.code).toBe(1);
      expect(bad.err).toContain('[policy.invalid]');
      expect(bad.err).toContain('group:nobody');
      expect(bad.err).toContain(`${join(dir, 'bad.hujson')}:1:`);
    });

    it('warns on stderr while the starter policy runs', async () => {
      const fresh = await startTestServer();
      try {
        const r = await cli(['policy', 'get'], { TRELLIS_SERVER: fresh.url, TRELLIS_API_KEY: fresh.adminKey });
        expect(r.code).toBe(0);
        expect(r.err).toMatch(/^warning: .*allow/i);
      } finally {
        await fresh.stop();
      }
    });
  });

  describe('finding the server and key', () => {
    it('reads the key from <data-dir>/admin-api-key', async () => {
      const dataDir = join(dir, 'data');
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(join(dataDir, 'admin-api-key'), `${ts.adminKey}\n`);
      expect(await succeeds(['users', 'list', '--data-dir', dataDir, '--server', ts.url], {})).toContain(
        'cli@example.com',
      );
      expect(await succeeds(['users', 'list'], { TRELLIS_DATA_DIR: dataDir, TRELLIS_SERVER: ts.url })).toContain(
        'cli@example.com',
      );
    });
  });

  describe('usage errors exit 2 with one line that says what is wrong and where the usage is', () => {
    const cases: Array<[string, string[], string]> = [
      ['an unknown command', ['frobnicate'], 'unknown command "frobnicate" for `trellis-server`'],
      ['an unknown action', ['users', 'frobnicate'], 'unknown command "frobnicate" for `trellis-server users`'],
      ['an unknown flag', ['users', 'list', '--bogus'], 'unknown flag --bogus for `trellis-server users list`'],
      ['an unknown flag of serve', ['serve', '--foo'], 'unknown flag --foo for `trellis-server serve`'],
      ['a flag before the command', ['--bogus', 'serve'], 'unknown flag --bogus for `trellis-server`'],
      ['a missing argument', ['users', 'create'], 'missing EMAIL for `trellis-server users create`'],
      ['a missing node name', ['nodes', 'rename', 'n-1'], 'missing NAME for `trellis-server nodes rename`'],
      ['a missing node id', ['nodes', 'delete'], 'missing ID for `trellis-server nodes delete`'],
      ['a surplus argument', ['nodes', 'get', 'n-1', 'n-2'], 'unexpected argument "n-2"'],
      ['a flag given twice', ['users', 'create', 'a@example.com', '--name', 'A', '--name', 'B'], '--name given twice'],
      [
        'a bad --expires',
        ['preauthkeys', 'create', '--user', 'cli@example.com', '--expires', 'soon'],
        '--expires: "soon" must be a whole number from 60 to 31536000',
      ],
      ['an unknown scope', ['apikeys', 'create', '--scope', 'root'], '--scope: "root" must be one of read, nodes'],
      ['no scope', ['apikeys', 'create'], 'missing --scope'],
      ['a bad --if-version', ['policy', 'set', '/dev/null', '--if-version', 'latest'], '--if-version: "latest"'],
      ['a bad --limit', ['audit', 'list', '--limit', '0'], '--limit: "0" must be a whole number from 1 to 1000'],
      ['no policy file', ['policy', 'set'], 'missing FILE for `trellis-server policy set`'],
    ];
    for (const [what, args, message] of cases) {
      it(what, async () => {
        const r = await cli(args);
        expect(r.code, r.err).toBe(2);
        expect(r.out).toBe('');
        expect(r.err).toContain(message);
        expect(r.err).toMatch(/; see `trellis-server[a-z -]*--help`$/);
        expect(r.err.split('\n')).toHaveLength(1);
      });
    }

    it('an unreadable policy file', async () => {
      const r = await cli(['policy', 'check', '/nonexistent/policy.hujson']);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/cannot read \/nonexistent\/policy\.hujson/);
    });

    it('no command at all: the usage, on stderr', async () => {
      const r = await cli([]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/^usage: trellis-server COMMAND/);
    });

    it('no API key anywhere', async () => {
      const r = await cli(['users', 'list', '--data-dir', join(dir, 'nowhere')], { TRELLIS_SERVER: ts.url });
      expect(r.code).toBe(2);
      expect(r.err).toContain('no API key');
    });

    it('help is not an error', async () => {
      const r = await cli(['help']);
      expect(r.code).toBe(0);
      expect(r.out).toContain('usage: trellis-server');
    });
  });

  describe('--help', () => {
    // Each prints that command's own usage on stdout, with nothing else run.
    const cases: Array<[string[], RegExp]> = [
      [['--help'], /^usage: trellis-server COMMAND \.\.\.\n(.|\n)* {2}serve \[options\] +Runs the coordination server/],
      [['serve', '--help'], /^usage: trellis-server serve \[options\]\n(.|\n)*--config FILE(.|\n)*--listen\.port/],
      [['serve', '--listen.port', '1', '-h'], /^usage: trellis-server serve /],
      [['users', '--help'], /^usage: trellis-server users COMMAND \.\.\.\n(.|\n)* {2}create EMAIL \[options\]/],
      [['users', 'create', '--help'], /^usage: trellis-server users create EMAIL \[options\]\n(.|\n)*--group G \.\.\./],
      [['nodes', 'tag', '-h'], /^usage: trellis-server nodes tag ID \[TAG\.\.\.\] \[options\]/],
      [['preauthkeys', 'create', '--help'], /--expires SECONDS/],
      [['apikeys', 'create', '--help'], /^usage: trellis-server apikeys create --scope SCOPE \[options\]/],
      [['policy', 'set', '--help'], /--if-version N/],
      [
        ['audit', 'list', '--bogus', '--help'],
        /--kind auth\|login\|node\.register\|node\.expire\|admin\|route\.primary/,
      ],
    ];
    for (const [args, usage] of cases) {
      it(args.join(' '), async () => {
        const r = await cli(args, {});
        expect(r.code, r.err).toBe(0);
        expect(r.err).toBe('');
        expect(r.out).toMatch(usage);
      });
    }

    it('of one command does not print the others', async () => {
      const r = await cli(['serve', '--help'], {});
      expect(r.out).not.toContain('preauthkeys');
    });
  });

  describe('server errors exit 1 with the code', () => {
    it('an unknown node', async () => {
      const r = await cli(['nodes', 'delete', 'n-missing']);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/no node with id n-missing \[node\.not_found\]/);
    });

    it('a wrong API key', async () => {
      const r = await cli(['users', 'list'], {
        TRELLIS_SERVER: ts.url,
        TRELLIS_API_KEY: 'trellis-api-aaaaaaaaaaaaaaaa-' + 'A'.repeat(43),
      });
      expect(r.code).toBe(1);
      expect(r.err).toContain('[api_key.unknown]');
    });

    it('a refused body', async () => {
      const r = await cli(['users', 'create', 'not-an-email']);
      expect(r.code).toBe(1);
      expect(r.err).toContain('[request.invalid_field]');
      expect(r.err).toContain('body.email');
    });

    it('a server that cannot be reached', async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const r = await cli(['users', 'list'], {
        TRELLIS_SERVER: `http://127.0.0.1:${port}`,
        TRELLIS_API_KEY: ts.adminKey,
      });
      expect(r.code).toBe(1);
      expect(r.err).toContain('[server.unreachable]');
      expect(r.err).toContain(`127.0.0.1:${port}`);
    });

    it('something that is not a Trellis server (an HTML error page)', async () => {
      const proxy: Server = createServer((_req, res) => {
        res.writeHead(502, { 'content-type': 'text/html' });
        res.end('<html><body>Bad Gateway</body></html>');
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      try {
        const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
        const r = await cli(['users', 'list'], { TRELLIS_SERVER: url, TRELLIS_API_KEY: ts.adminKey });
        expect(r.code).toBe(1);
        expect(r.err).toContain('502');
        expect(r.err).toContain('[server.bad_answer]');
      } finally {
        await new Promise<void>((resolve) => proxy.close(() => resolve()));
      }
    });
  });
});
