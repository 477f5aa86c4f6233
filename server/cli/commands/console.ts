import type { SignInLinkView } from '../../../protocol/console.ts';
import { command, group, parseCommand, selectCommand } from '../../../cli-flags/index.ts';
import { CONNECTION_FLAGS, JSON_FLAG, adminClient } from '../admin-client.ts';
import type { CliIO } from '../io.ts';
import { onReachableOrigin } from '../reachability.ts';

export const CONSOLE = group({
  name: 'trellis-server console',
  summary: 'The admin console: sign-in links for people without an identity provider.',
  commands: {
    link: command({
      name: 'trellis-server console link',
      summary: 'a one-time link that signs a person in to the console (shown once)',
      flags: {
        ...CONNECTION_FLAGS,
        ...JSON_FLAG,
        email: {
          type: 'string',
          value: 'EMAIL',
          help: 'who signs in (default admin@trellis.local; created if unknown)',
        },
        role: {
          type: 'string',
          choices: ['admin', 'network-admin', 'auditor'],
          default: 'admin',
          help: 'the session role',
        },
        'expires-in': {
          type: 'number',
          integer: true,
          min: 60,
          max: 3600,
          default: 600,
          value: 'SECONDS',
          help: 'how long the link stays good (it works once in any case)',
        },
      },
    }),
  },
});

export async function consoleCommand(argv: string[], io: CliIO): Promise<number> {
  const { rest } = selectCommand(argv, CONSOLE);
  const { flags: values } = parseCommand(rest, CONSOLE.commands.link);
  const client = adminClient(values, io.env);
  const made = await client.call<SignInLinkView>('POST', '/api/v1/console/sign-in-links', {
    ...(values.email !== undefined && { email: values.email }),
    role: values.role,
    expiresInSeconds: values['expires-in'],
  });
  const link = { ...made, url: onReachableOrigin(made.url, client.url) };
  if (values.json) io.out(JSON.stringify(link, null, 2));
  else io.out(`${link.url}\n(signs in ${link.email} as ${link.role} once, until ${link.expiresAt})`);
  return 0;
}
