import { readFileSync, writeFileSync } from 'node:fs';
import type { PolicyView } from '../../../protocol/admin.ts';
import { UsageError, command, group, parseCommand, selectCommand } from '../../../cli-flags/index.ts';
import { CONNECTION_FLAGS, adminClient } from '../admin-client.ts';
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
  }
}

function readPolicy(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError('cli.unreadable_file', `cannot read ${file}: ${(err as Error).message}`);
  }
}
