import { AUDIT_EVENT_KINDS, type AuditPage } from '../../../protocol/audit.ts';
import { command, group, parseCommand, selectCommand } from '../../../cli-flags/index.ts';
import { CONNECTION_FLAGS, JSON_FLAG, adminClient } from '../admin-client.ts';
import type { CliIO } from '../io.ts';
import { printList } from '../output.ts';

export const AUDIT = group({
  name: 'trellis-server audit',
  summary: 'Who signed in, joined, and changed what.',
  commands: {
    list: command({
      name: 'trellis-server audit list',
      summary: 'audit events, newest first',
      flags: {
        ...CONNECTION_FLAGS,
        ...JSON_FLAG,
        since: { type: 'string', value: 'TIME', help: 'events at or after TIME (ISO 8601)' },
        until: { type: 'string', value: 'TIME', help: 'events before TIME (ISO 8601)' },
        kind: { type: 'string', choices: AUDIT_EVENT_KINDS, help: 'events of this kind only' },
        outcome: { type: 'string', choices: ['success', 'failure'], help: 'events with this outcome only' },
        actor: { type: 'string', value: 'WHO', help: 'events by exactly this actor (an email, api-key:ID)' },
        action: { type: 'string', value: 'PREFIX', help: "events whose code starts so ('PUT /api/v1/policy', login.)" },
        node: { type: 'string', value: 'ID', help: 'events about this node' },
        limit: { type: 'number', integer: true, min: 1, max: 1000, value: 'N', help: 'at most N events (default 100)' },
        cursor: { type: 'string', value: 'C', help: 'the next page (printed after a full page)' },
      },
    }),
  },
});

export async function auditCommand(argv: string[], io: CliIO): Promise<number> {
  const { rest } = selectCommand(argv, AUDIT);
  const { flags: values } = parseCommand(rest, AUDIT.commands.list);
  const client = adminClient(values, io.env);
  const query = new URLSearchParams();
  for (const k of ['since', 'until', 'kind', 'outcome', 'actor', 'action', 'limit', 'cursor'] as const)
    if (values[k] !== undefined) query.set(k, String(values[k]));
  if (values.node !== undefined) query.set('nodeId', values.node);
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
