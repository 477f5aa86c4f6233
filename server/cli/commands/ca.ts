import type { AuthorityView } from '../../../protocol/pki.ts';
import { command, group, parseCommand, selectCommand } from '../../../cli-flags/index.ts';
import { CONNECTION_FLAGS, JSON_FLAG, adminClient } from '../admin-client.ts';
import type { CliIO } from '../io.ts';
import { printList, printObject } from '../output.ts';

const DAY = 24 * 3600;

export const CA = group({
  name: 'trellis-server ca',
  summary: "The mesh's certificate authority: list the CAs, rotate to a new one.",
  commands: {
    list: command({
      name: 'trellis-server ca list',
      summary: 'every CA, newest first: its state, fingerprint, when it signs and until when it is trusted',
      flags: { ...CONNECTION_FLAGS, ...JSON_FLAG },
    }),
    rotate: command({
      name: 'trellis-server ca rotate',
      summary: 'start a rotation: a new CA in the trust bundle at once, signing when the grace period ends',
      flags: {
        ...CONNECTION_FLAGS,
        ...JSON_FLAG,
        grace: {
          type: 'number',
          integer: true,
          min: 0,
          max: 365 * DAY,
          value: 'SECONDS',
          help: 'how long both CAs are trusted before the new one signs (default 7 days; 0: at once)',
        },
      },
    }),
    finish: command({
      name: 'trellis-server ca finish',
      summary: 'record the switch once the grace period is over, or with --force switch before it ends',
      flags: {
        ...CONNECTION_FLAGS,
        ...JSON_FLAG,
        force: { type: 'boolean', help: 'switch now, though kubeconfigs without the new CA then stop working' },
      },
    }),
  },
  notes: `During the grace period \`trellis kubeconfig\` embeds both CAs: ask users to run it again
before the new CA signs (server/pki/README.md and docs/kubectl-access.md, "Rotating the CA").`,
});

const COLUMNS: Array<[string, (a: AuthorityView) => string]> = [
  ['ID', (a) => a.id],
  ['STATE', (a) => a.state],
  ['SIGNS FROM', (a) => a.signsFrom],
  ['TRUSTED UNTIL', (a) => (a.inBundle ? a.trustedUntil : '-')],
  ['SHA-256 FINGERPRINT', (a) => a.fingerprint],
];

export async function caCommand(argv: string[], io: CliIO): Promise<number> {
  const { name, rest } = selectCommand(argv, CA);
  switch (name) {
    case 'list': {
      const { flags: values } = parseCommand(rest, CA.commands.list);
      const { items } = await adminClient(values, io.env).call<{ items: AuthorityView[] }>(
        'GET',
        '/api/v1/authorities',
      );
      printList(items, values.json, COLUMNS, io.out);
      return 0;
    }
    case 'rotate': {
      const { flags: values } = parseCommand(rest, CA.commands.rotate);
      const added = await adminClient(values, io.env).call<AuthorityView>('POST', '/api/v1/authorities/rotate', {
        graceSeconds: values.grace,
      });
      if (values.json) printObject(added, io.out);
      else
        io.out(
          `new CA ${added.id} (sha256 ${added.fingerprint}) is in the trust bundle; it signs from ${added.signsFrom}`,
        );
      return 0;
    }
    case 'finish': {
      const { flags: values } = parseCommand(rest, CA.commands.finish);
      const signing = await adminClient(values, io.env).call<AuthorityView>('POST', '/api/v1/authorities/finish', {
        force: values.force,
      });
      if (values.json) printObject(signing, io.out);
      else io.out(`CA ${signing.id} signs since ${signing.signsFrom}; the older CAs are retired`);
      return 0;
    }
  }
}
