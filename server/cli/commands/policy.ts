import { readFileSync, writeFileSync } from 'node:fs';
import type { PolicyView } from '../../../protocol/admin.ts';
import { UsageError, command, group, parseCommand, selectCommand } from '../../../cli-flags/index.ts';
import type { PolicyDiff, PolicyPreview, PolicyVersionsPage } from '../../../protocol/policy-admin.ts';
import { CONNECTION_FLAGS, JSON_FLAG, adminClient } from '../admin-client.ts';
import { printList } from '../output.ts';
import type { CliIO } from '../io.ts';

const FILE = [{ name: 'FILE' }] as const;

export const POLICY = group({
  name: 'trellis-server policy',
  summary: 'The access policy the server enforces.',
  commands: {
    get: command({
      name: 'trellis-server policy get',
      summary: 'print the active policy',
      flags: {
        ...CONNECTION_FLAGS,
        output: { type: 'string', value: 'FILE', help: 'write it to FILE instead' },
        json: { type: 'boolean', help: 'print the policy with its version and author as JSON' },
      },
    }),
    set: command({
      name: 'trellis-server policy set',
      summary: 'make FILE the active policy (the old one stays on any error)',
      positionals: FILE,
      flags: {
        ...CONNECTION_FLAGS,
        'if-version': {
          type: 'number',
          integer: true,
          min: 0,
          value: 'N',
          help: 'only if the active policy is still version N (optimistic concurrency)',
        },
      },
    }),
    check: command({
      name: 'trellis-server policy check',
      summary: 'have the server check FILE without applying it',
      positionals: FILE,
      flags: CONNECTION_FLAGS,
    }),
    preview: command({
      name: 'trellis-server policy preview',
      summary: "what FILE would change on the live nodes, its problems and its tests' results (nothing applied)",
      positionals: [{ name: 'FILE', optional: true }],
      flags: {
        ...CONNECTION_FLAGS,
        ...JSON_FLAG,
        src: { type: 'string', value: 'SOURCE', help: 'also list what SOURCE (node, email, group:, tag:) may reach' },
      },
      notes: 'Without FILE, the active policy (with --src). Exit status 1 when FILE has problems.',
    }),
    versions: command({
      name: 'trellis-server policy versions',
      summary: 'the stored policy versions, newest first',
      flags: {
        ...CONNECTION_FLAGS,
        ...JSON_FLAG,
        limit: { type: 'number', integer: true, min: 1, max: 1000, value: 'N', help: 'at most N (default 100)' },
      },
    }),
    show: command({
      name: 'trellis-server policy show',
      summary: 'print stored version N',
      positionals: [{ name: 'N' }],
      flags: CONNECTION_FLAGS,
    }),
    diff: command({
      name: 'trellis-server policy diff',
      summary:
        'access granted and revoked between two stored versions (FILE against the live policy: trellis policy diff)',
      flags: {
        ...CONNECTION_FLAGS,
        ...JSON_FLAG,
        from: { type: 'number', integer: true, min: 1, value: 'N', help: 'the old version (default the active one)' },
        to: { type: 'number', integer: true, min: 1, value: 'M', required: true, help: 'the new version' },
      },
    }),
    revert: command({
      name: 'trellis-server policy revert',
      summary: "make stored version N's text the active policy again (a new version)",
      positionals: [{ name: 'N' }],
      flags: {
        ...CONNECTION_FLAGS,
        'if-version': {
          type: 'number',
          integer: true,
          min: 0,
          value: 'V',
          help: 'only if the active policy is still version V (optimistic concurrency)',
        },
      },
    }),
  },
});

export async function policyCommand(argv: string[], io: CliIO): Promise<number> {
  const { name, rest } = selectCommand(argv, POLICY);
  switch (name) {
    case 'get': {
      const { flags: values } = parseCommand(rest, POLICY.commands.get);
      const client = adminClient(values, io.env);
      const p = await client.call<PolicyView>('GET', '/api/v1/policy');
      if (p.warning) io.err(`warning: ${p.warning}`);
      if (values.json) io.out(JSON.stringify(p, null, 2));
      else if (values.output) writeFileSync(values.output, p.text);
      else io.out(p.text);
      return 0;
    }
    case 'set': {
      const { flags: values, positionals } = parseCommand(rest, POLICY.commands.set);
      const client = adminClient(values, io.env);
      const file = positionals[0]!;
      const text = readPolicy(file);
      const ifVersion = values['if-version'];
      const p = await client.call<PolicyView>('PUT', '/api/v1/policy', { policy: text, ifVersion, fileName: file });
      io.out(`policy version ${p.version} is now active`);
      return 0;
    }
    case 'check': {
      const { flags: values, positionals } = parseCommand(rest, POLICY.commands.check);
      const client = adminClient(values, io.env);
      const file = positionals[0]!;
      await client.call('POST', '/api/v1/policy/check', { policy: readPolicy(file), fileName: file });
      io.out(`${file}: ok`);
      return 0;
    }
    case 'preview': {
      const { flags: values, positionals } = parseCommand(rest, POLICY.commands.preview);
      const file = positionals[0];
      if (file === undefined && values.src === undefined)
        throw new UsageError('cli.missing_flag', 'give FILE, --src SOURCE, or both');
      const p = await adminClient(values, io.env).call<PolicyPreview>('POST', '/api/v1/policy/preview', {
        ...(file !== undefined && { policy: readPolicy(file), fileName: file }),
        ...(values.src !== undefined && { src: values.src }),
      });
      if (values.json) io.out(JSON.stringify(p, null, 2));
      else previewText(p, io);
      return p.ok ? 0 : 1;
    }
    case 'versions': {
      const { flags: values } = parseCommand(rest, POLICY.commands.versions);
      const q = values.limit !== undefined ? `?limit=${values.limit}` : '';
      const page = await adminClient(values, io.env).call<PolicyVersionsPage>('GET', `/api/v1/policy/versions${q}`);
      if (values.json) io.out(JSON.stringify(page, null, 2));
      else
        printList(
          page.items,
          false,
          [
            ['VERSION', (v) => `${v.version}${v.current ? ' *' : ''}`],
            ['CREATED', (v) => v.createdAt],
            ['AUTHOR', (v) => v.author],
            ['BYTES', (v) => String(v.size)],
          ],
          io.out,
        );
      return 0;
    }
    case 'show': {
      const { flags: values, positionals } = parseCommand(rest, POLICY.commands.show);
      const p = await adminClient(values, io.env).call<PolicyView>(
        'GET',
        `/api/v1/policy/versions/${versionArg(positionals[0]!)}`,
      );
      io.out(p.text);
      return 0;
    }
    case 'diff': {
      const { flags: values } = parseCommand(rest, POLICY.commands.diff);
      const d = await adminClient(values, io.env).call<PolicyDiff>('POST', '/api/v1/policy/diff', {
        ...(values.from !== undefined && { from: values.from }),
        to: values.to,
      });
      io.out(values.json ? JSON.stringify(d, null, 2) : accessLines(d));
      return 0;
    }
    case 'revert': {
      const { flags: values, positionals } = parseCommand(rest, POLICY.commands.revert);
      const n = versionArg(positionals[0]!);
      const p = await adminClient(values, io.env).call<PolicyView>('POST', `/api/v1/policy/versions/${n}/revert`, {
        ...(values['if-version'] !== undefined && { ifVersion: values['if-version'] }),
      });
      io.out(`policy version ${p.version} is now active (the text of version ${n})`);
      return 0;
    }
  }
}

function versionArg(text: string): number {
  if (!/^[1-9][0-9]{0,14}$/.test(text))
    throw new UsageError('cli.bad_value', `"${text}" is not a policy version number`);
  return Number(text);
}

function accessLines(d: PolicyDiff): string {
  if (d.granted.length === 0 && d.revoked.length === 0) return 'no change in access';
  return [
    ...d.granted.map((c) => `+ ${c.src} -> ${c.dst} ${c.ports} (${c.protos})`),
    ...d.revoked.map((c) => `- ${c.src} -> ${c.dst} ${c.ports} (${c.protos})`),
  ].join('\n');
}

function previewText(p: PolicyPreview, io: CliIO): void {
  for (const d of p.diagnostics) io.err(`${d.at}: ${d.message}`);
  if (p.tests) io.out(`tests: ${p.tests.passed} passed, ${p.tests.failed} failed`);
  for (const n of p.nodes) {
    const parts = [
      ...n.peersAdded.map((x) => `+peer ${x.name}`),
      ...n.peersRemoved.map((x) => `-peer ${x.name}`),
      n.filterAdded.length > 0 ? `+${n.filterAdded.length} filter rules` : '',
      n.filterRemoved.length > 0 ? `-${n.filterRemoved.length} filter rules` : '',
    ].filter((x) => x !== '');
    io.out(`${n.node.name}: ${parts.join(', ')}`);
  }
  if (p.ok && p.nodes.length === 0 && p.diagnostics.length === 0 && !p.reach) io.out('no node would change');
  for (const e of p.reach?.entries ?? [])
    io.out(
      `${e.dst.name} ${e.ports} (${e.protos}) from ${e.from.map((f) => f.name).join(', ')}: ${e.rules.map((r) => r.at).join(', ')}`,
    );
}

function readPolicy(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError('cli.unreadable_file', `cannot read ${file}: ${(err as Error).message}`);
  }
}
