import { isIP } from 'node:net';
import { UsageError } from '../../../cli-flags/index.ts';
import type { UpRequest } from '../../agent/local-api/messages.ts';

/**
 * `trellis up`'s exit node flags, and what they ask of the agent. Flags not given leave the
 * node as it was (`--advertise-exit-node=false`, `--exit-node=` and
 * `--exit-node-allow-lan-access=false` undo), except that choosing an exit node without
 * --exit-node-allow-lan-access turns LAN access off: one `up` states the whole choice.
 */
export const EXIT_NODE_FLAGS = {
  'advertise-exit-node': {
    type: 'boolean',
    negatable: true,
    help: 'offer this node as an exit node (0.0.0.0/0 and ::/0; an admin or autoApprovers.exitNode approves)',
  },
  'exit-node': {
    type: 'string',
    value: 'NAME|IP|auto',
    help: 'send all traffic through this exit node; auto: the fastest allowed one (--exit-node= stops)',
  },
  'exit-node-allow-lan-access': {
    type: 'boolean',
    negatable: true,
    help: "with --exit-node: this machine's LAN stays reachable outside the tunnel",
  },
} as const;

const NAME_OR_AUTO = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function exitNodeRequest(flags: {
  'advertise-exit-node'?: boolean | undefined;
  'exit-node'?: string | undefined;
  'exit-node-allow-lan-access'?: boolean | undefined;
}): Pick<UpRequest, 'advertiseExitNode' | 'exitNode' | 'exitNodeAllowLanAccess'> {
  const exit = flags['exit-node']?.trim();
  if (exit !== undefined && exit !== '' && !NAME_OR_AUTO.test(exit) && isIP(exit) === 0)
    throw new UsageError('cli.bad_value', `--exit-node: "${exit}" is not a node name, a mesh address or auto`);
  if (flags['advertise-exit-node'] && exit)
    throw new UsageError('cli.conflicting_flags', '--advertise-exit-node and --exit-node: an exit node cannot use one');
  if (flags['exit-node-allow-lan-access'] && exit === '')
    throw new UsageError(
      'cli.conflicting_flags',
      '--exit-node-allow-lan-access goes with an exit node, not --exit-node=',
    );
  const lan = flags['exit-node-allow-lan-access'] ?? (exit !== undefined ? false : undefined);
  const advertise = flags['advertise-exit-node'];
  return {
    ...(advertise !== undefined && { advertiseExitNode: advertise }),
    ...(exit !== undefined && { exitNode: exit }),
    ...(lan !== undefined && { exitNodeAllowLanAccess: lan }),
  };
}
