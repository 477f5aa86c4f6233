import type { Peer } from '../../protocol/node.ts';
import type { StatusResponse } from '../agent/local-api/messages.ts';
import { offersExit, type ExitChoice } from './choose.ts';

/**
 * The exit node part of `trellis status`, pure. The kill switch is read from the machine (the
 * guard's table), not from the agent's memory: it is what holds traffic, whoever installed it.
 */
interface ExitStatusInputs {
  wanted?: string;
  allowLan: boolean;
  choice?: ExitChoice;
  /** The exit node named by the kill switch in force, if any. */
  killSwitch?: string;
  peers: Iterable<Peer>;
}

export function exitNodeStatus(i: ExitStatusInputs): Pick<StatusResponse, 'exitNode' | 'exitNodeOptions'> {
  const options = [...i.peers]
    .filter(offersExit)
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((p) => ({ id: p.id, name: p.name, online: p.online }));
  const out: Pick<StatusResponse, 'exitNode' | 'exitNodeOptions'> = options.length ? { exitNodeOptions: options } : {};
  const wanted = i.wanted ?? i.killSwitch;
  if (wanted === undefined) return out;
  const peer = i.wanted !== undefined ? i.choice?.peer : undefined;
  const killSwitch = i.killSwitch !== undefined;
  const message =
    i.wanted === undefined
      ? `a kill switch for exit node ${wanted} is still in force; traffic blocked (trellis down removes it)`
      : !peer
        ? `exit node ${wanted} is not offered to this node; traffic blocked`
        : !peer.online
          ? `exit node ${peer.name} offline; traffic blocked`
          : !killSwitch
            ? `the kill switch for exit node ${peer.name} is not in force yet`
            : undefined;
  return {
    ...out,
    exitNode: {
      wanted,
      ...(peer && { name: peer.name, id: peer.id }),
      online: peer?.online ?? false,
      allowLanAccess: i.allowLan,
      killSwitch,
      ...(message && { message }),
    },
  };
}
