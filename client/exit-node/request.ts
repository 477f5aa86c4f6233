import type { Peer } from '../../protocol/node.ts';
import { isExitRoute } from '../../protocol/route.ts';
import { AgentError } from '../agent/errors.ts';
import type { UpRequest } from '../agent/local-api/messages.ts';
import { AUTO, matchPeer, offersExit } from './choose.ts';

/**
 * Refuses an `up` whose exit node cannot be used, before anything is saved: a name or address
 * no peer has, a peer that offers this node no exit route, or an exit node that would use an
 * exit node itself. Without a map yet (the node just joins), a name is taken as given: the kill
 * switch holds traffic until a map shows it.
 */
export function checkExitNodeRequest(
  req: UpRequest,
  peers: Iterable<Peer>,
  node: { advertiseRoutes: readonly string[]; exitNode?: string } | undefined,
): void {
  const wanted = req.exitNode ?? node?.exitNode;
  if (wanted === undefined || wanted === '') return;
  const advertises =
    req.advertiseExitNode ?? (node?.advertiseRoutes.some(isExitRoute) || req.advertiseRoutes?.some(isExitRoute));
  if (advertises)
    throw new AgentError(
      'agent.bad_request',
      'an exit node cannot use an exit node: drop --exit-node or --advertise-exit-node',
    );
  if (req.exitNode === undefined || wanted === AUTO) return;
  const list = [...peers];
  if (list.length === 0) return;
  const offered = list.filter(offersExit).map((p) => p.name);
  const peer = matchPeer(wanted, list);
  const choices = offered.length
    ? `exit nodes offered to this node: ${offered.join(', ')}`
    : 'no exit node is offered to this node';
  if (!peer) throw new AgentError('agent.not_found', `no peer "${wanted}" in this node's map (${choices})`);
  if (!offersExit(peer))
    throw new AgentError(
      'agent.bad_request',
      `${peer.name} is not an exit node for this node: it has no approved exit route the policy lets this node use (${choices})`,
    );
}
