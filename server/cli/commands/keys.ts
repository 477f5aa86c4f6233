import type { ApiKeyView, PreAuthKeyView } from '../../../protocol/admin.ts';
import { command, flags, group, parseCommand, selectCommand } from '../../../cli-flags/index.ts';
import { API_SCOPES } from '../../store/records.ts';
import { CONNECTION_FLAGS, JSON_FLAG, adminClient } from '../admin-client.ts';
import type { CliIO } from '../io.ts';
import { printList } from '../output.ts';

const DAY = 24 * 3600;
const description = flags({ description: { type: 'string', value: 'TEXT', help: 'what the key is for' } });
const CREATED = flags({
  ...CONNECTION_FLAGS,
  ...description,
  json: { type: 'boolean', help: 'print the key and its secret as JSON' },
});

export const PREAUTH = group({
  name: 'trellis-server preauthkeys',
  summary: 'Keys that let a machine join without a person signing in.',
  commands: {
    list: command({
      name: 'trellis-server preauthkeys list',
      summary: 'every pre-auth key',
      flags: { ...CONNECTION_FLAGS, ...JSON_FLAG },
    }),
    create: command({
      name: 'trellis-server preauthkeys create',
      summary: 'issue a key for a user, or for tags (prints the secret once)',
      flags: {
        ...CREATED,
        user: { type: 'string', value: 'EMAIL', help: 'nodes joining with it belong to this user' },
        tag: { type: 'string', value: 'TAG', repeatable: true, help: 'nodes joining with it carry this tag (no user)' },
        reusable: { type: 'boolean', help: 'may join more than one node' },
        ephemeral: { type: 'boolean', help: 'its nodes are removed when they go offline' },
        expires: {
          type: 'number',
          integer: true,
          min: 60,
          max: 365 * DAY,
          value: 'SECONDS',
          help: 'lifetime (default an hour)',
        },
      },
    }),
    revoke: command({
      name: 'trellis-server preauthkeys revoke',
      summary: 'revoke a key',
      positionals: [{ name: 'ID' }],
      flags: CONNECTION_FLAGS,
    }),
  },
});

export const APIKEYS = group({
  name: 'trellis-server apikeys',
  summary: 'Keys for the admin API (this CLI, scripts, CI).',
  commands: {
    list: command({
      name: 'trellis-server apikeys list',
      summary: 'every API key',
      flags: { ...CONNECTION_FLAGS, ...JSON_FLAG },
    }),
    create: command({
      name: 'trellis-server apikeys create',
      summary: 'issue a key with the given scopes (prints the secret once)',
      flags: {
        ...CREATED,
        scope: {
          type: 'string',
          value: 'SCOPE',
          choices: API_SCOPES,
          repeatable: true,
          required: true,
          help: `what it may do: ${API_SCOPES.join(', ')}`,
        },
        expires: {
          type: 'number',
          integer: true,
          min: 60,
          max: 10 * 365 * DAY,
          value: 'SECONDS',
          help: 'lifetime (default: never expires)',
        },
      },
    }),
    revoke: command({
      name: 'trellis-server apikeys revoke',
      summary: 'revoke a key',
      positionals: [{ name: 'ID' }],
      flags: CONNECTION_FLAGS,
    }),
  },
});

export async function preAuthKeysCommand(argv: string[], io: CliIO): Promise<number> {
  const { name, rest } = selectCommand(argv, PREAUTH);
  switch (name) {
    case 'list': {
      const { flags: values } = parseCommand(rest, PREAUTH.commands.list);
      const client = adminClient(values, io.env);
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
      const { flags: values } = parseCommand(rest, PREAUTH.commands.create);
      const client = adminClient(values, io.env);
      const issued = await client.call<{ key: PreAuthKeyView; secret: string }>('POST', '/api/v1/preauth-keys', {
        user: values.user,
        tags: values.tag,
        reusable: values.reusable,
        ephemeral: values.ephemeral,
        expiresInSeconds: values.expires,
        description: values.description,
      });
      if (values.json) io.out(JSON.stringify(issued, null, 2));
      else io.out(issued.secret);
      return 0;
    }
    case 'revoke': {
      const { flags: values, positionals } = parseCommand(rest, PREAUTH.commands.revoke);
      const client = adminClient(values, io.env);
      const id = positionals[0]!;
      await client.call('DELETE', `/api/v1/preauth-keys/${encodeURIComponent(id)}`);
      io.out(`revoked pre-auth key ${id}`);
      return 0;
    }
  }
}

export async function apiKeysCommand(argv: string[], io: CliIO): Promise<number> {
  const { name, rest } = selectCommand(argv, APIKEYS);
  switch (name) {
    case 'list': {
      const { flags: values } = parseCommand(rest, APIKEYS.commands.list);
      const client = adminClient(values, io.env);
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
      const { flags: values } = parseCommand(rest, APIKEYS.commands.create);
      const client = adminClient(values, io.env);
      const issued = await client.call<{ key: ApiKeyView; secret: string }>('POST', '/api/v1/api-keys', {
        scopes: values.scope,
        expiresInSeconds: values.expires,
        description: values.description,
      });
      if (values.json) io.out(JSON.stringify(issued, null, 2));
      else io.out(issued.secret);
      return 0;
    }
    case 'revoke': {
      const { flags: values, positionals } = parseCommand(rest, APIKEYS.commands.revoke);
      const client = adminClient(values, io.env);
      const id = positionals[0]!;
      await client.call('DELETE', `/api/v1/api-keys/${encodeURIComponent(id)}`);
      io.out(`revoked API key ${id}`);
      return 0;
    }
  }
}
