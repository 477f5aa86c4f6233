import { readFileSync, writeFileSync } from 'node:fs';
import type { PolicyView } from '../../../protocol/admin.ts';
import { CONNECTION_OPTIONS, adminClient } from '../admin-client.ts';
import { UsageError, parseFlags } from '../args.ts';
import type { CliIO } from '../io.ts';

export const POLICY_USAGE = `policy get [--output FILE] [--json]
  policy set FILE [--if-version N]
  policy check FILE`;

export async function policyCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    ...CONNECTION_OPTIONS,
    output: { type: 'string' },
    'if-version': { type: 'string' },
  });
  const client = adminClient(values, io.env);
  const [action, file] = positionals;
  switch (action) {
    case 'get': {
      const p = await client.call<PolicyView>('GET', '/api/v1/policy');
      if (p.warning) io.err(`warning: ${p.warning}`);
      if (values.json) io.out(JSON.stringify(p, null, 2));
      else if (values.output) writeFileSync(values.output, p.text);
      else io.out(p.text);
      return 0;
    }
    case 'set': {
      const text = readPolicy(file);
      const ifVersion = values['if-version'] === undefined ? undefined : Number(values['if-version']);
      if (ifVersion !== undefined && !Number.isInteger(ifVersion))
        throw new UsageError('--if-version takes a policy version number');
      const p = await client.call<PolicyView>('PUT', '/api/v1/policy', { policy: text, ifVersion, fileName: file });
      io.out(`policy version ${p.version} is now active`);
      return 0;
    }
    case 'check':
      await client.call('POST', '/api/v1/policy/check', { policy: readPolicy(file), fileName: file });
      io.out(`${file}: ok`);
      return 0;
    default:
      throw new UsageError(`unknown policy action "${action ?? ''}"`);
  }
}

function readPolicy(file: string | undefined): string {
  if (!file) throw new UsageError('a policy FILE is needed');
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
}
