import type { AuditPage } from '../../../protocol/audit.ts';
import { CONNECTION_OPTIONS, adminClient } from '../admin-client.ts';
import { UsageError, parseFlags } from '../args.ts';
import type { CliIO } from '../io.ts';
import { printList } from '../output.ts';

export const AUDIT_USAGE = `audit list [--since TIME] [--until TIME] [--kind auth|login|node.register|node.expire|admin]
             [--outcome success|failure] [--limit N] [--cursor C] [--json]`;

export async function auditCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    ...CONNECTION_OPTIONS,
    since: { type: 'string' },
    until: { type: 'string' },
    kind: { type: 'string' },
    outcome: { type: 'string' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
  });
  const client = adminClient(values, io.env);
  const [action] = positionals;
  if (action !== 'list') throw new UsageError(`unknown audit action "${action ?? ''}"`);
  const query = new URLSearchParams();
  for (const k of ['since', 'until', 'kind', 'outcome', 'limit', 'cursor'] as const)
    if (values[k] !== undefined) query.set(k, values[k]!);
  const page = await client.call<AuditPage>('GET', `/api/v1/audit${query.size ? `?${query}` : ''}`);
  if (values.json) {
    io.out(JSON.stringify(page, null, 2));
    return 0;
  }
  printList(
    page.items,
    false,
    [
      ['TIME', (e) => e.at],
      ['KIND', (e) => e.kind],
      ['OUTCOME', (e) => e.outcome],
      ['WHO', (e) => e.actor ?? '-'],
      ['METHOD', (e) => e.method ?? '-'],
      ['NODE', (e) => e.nodeId ?? '-'],
      ['SOURCE', (e) => e.source ?? '-'],
      ['CODE', (e) => e.code ?? '-'],
      ['MESSAGE', (e) => e.message],
    ],
    io.out,
  );
  if (page.nextCursor) io.out(`(more: --cursor ${page.nextCursor})`);
  return 0;
}
