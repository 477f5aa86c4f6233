import type { ApiKeyView, PreAuthKeyView } from '../../../protocol/admin.ts';
import { CONNECTION_OPTIONS, adminClient } from '../admin-client.ts';
import { UsageError, parseFlags } from '../args.ts';
import type { CliIO } from '../io.ts';
import { printList } from '../output.ts';

export const PREAUTH_USAGE = `preauthkeys list [--json]
  preauthkeys create (--user EMAIL | --tag TAG...) [--reusable] [--ephemeral] [--expires SECONDS] [--description TEXT]
  preauthkeys revoke ID`;
export const APIKEYS_USAGE = `apikeys list [--json]
  apikeys create --scope SCOPE... [--expires SECONDS] [--description TEXT]   (scopes: read nodes users keys policy admin)
  apikeys revoke ID`;

const KEY_OPTIONS = {
  ...CONNECTION_OPTIONS,
  user: { type: 'string' },
  tag: { type: 'string', multiple: true },
  scope: { type: 'string', multiple: true },
  reusable: { type: 'boolean' },
  ephemeral: { type: 'boolean' },
  expires: { type: 'string' },
  description: { type: 'string' },
} as const;

export async function preAuthKeysCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags(argv, KEY_OPTIONS);
  const client = adminClient(values, io.env);
  const [action, id] = positionals;
  switch (action) {
    case 'list': {
      const { items } = await client.call<{ items: PreAuthKeyView[] }>('GET', '/api/v1/preauth-keys');
      printList(
        items,
        values.json,
        [
          ['ID', (k) => k.id],
          ['OWNER', (k) => (k.tags.length ? k.tags.join(',') : (k.user ?? '-'))],
          ['REUSABLE', (k) => String(k.reusable)],
          ['EPHEMERAL', (k) => String(k.ephemeral)],
          ['USED', (k) => String(k.usedCount)],
          ['EXPIRES', (k) => k.expiresAt],
          ['REVOKED', (k) => String(k.revoked)],
        ],
        io.out,
      );
      return 0;
    }
    case 'create': {
      const issued = await client.call<{ key: PreAuthKeyView; secret: string }>('POST', '/api/v1/preauth-keys', {
        user: values.user,
        tags: values.tag,
        reusable: values.reusable,
        ephemeral: values.ephemeral,
        expiresInSeconds: seconds(values.expires),
        description: values.description,
      });
      if (values.json) io.out(JSON.stringify(issued, null, 2));
      else io.out(issued.secret);
      return 0;
    }
    case 'revoke':
      if (!id) throw new UsageError('preauthkeys revoke needs an ID');
      await client.call('DELETE', `/api/v1/preauth-keys/${encodeURIComponent(id)}`);
      io.out(`revoked pre-auth key ${id}`);
      return 0;
    default:
      throw new UsageError(`unknown preauthkeys action "${action ?? ''}"`);
  }
}

export async function apiKeysCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags(argv, KEY_OPTIONS);
  const client = adminClient(values, io.env);
  const [action, id] = positionals;
  switch (action) {
    case 'list': {
      const { items } = await client.call<{ items: ApiKeyView[] }>('GET', '/api/v1/api-keys');
      printList(
        items,
        values.json,
        [
          ['ID', (k) => k.id],
          ['SCOPES', (k) => k.scopes.join(',')],
          ['EXPIRES', (k) => k.expiresAt ?? 'never'],
          ['LAST USED', (k) => k.lastUsedAt ?? '-'],
          ['REVOKED', (k) => String(k.revoked)],
          ['DESCRIPTION', (k) => k.description],
        ],
        io.out,
      );
      return 0;
    }
    case 'create': {
      const issued = await client.call<{ key: ApiKeyView; secret: string }>('POST', '/api/v1/api-keys', {
        scopes: values.scope ?? [],
        expiresInSeconds: seconds(values.expires),
        description: values.description,
      });
      if (values.json) io.out(JSON.stringify(issued, null, 2));
      else io.out(issued.secret);
      return 0;
    }
    case 'revoke':
      if (!id) throw new UsageError('apikeys revoke needs an ID');
      await client.call('DELETE', `/api/v1/api-keys/${encodeURIComponent(id)}`);
      io.out(`revoked API key ${id}`);
      return 0;
    default:
      throw new UsageError(`unknown apikeys action "${action ?? ''}"`);
  }
}

function seconds(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new UsageError(`--expires takes a number of seconds, not "${text}"`);
  return Number(text);
}
