import { notFound } from '../errors.ts';
import type { NodeRecord } from '../store/records.ts';
import type { Viewer } from './route.ts';

/** Whether the caller may see this node: all of them, or a member's own (untagged or not, they own it). */
export function sees(viewer: Viewer, node: Pick<NodeRecord, 'userId'>): boolean {
  return viewer.kind === 'all' || node.userId === viewer.userId;
}

/** The node, if the caller may see it; someone else's machine is answered as an unknown one. */
export function visible<T extends Pick<NodeRecord, 'id' | 'userId'>>(viewer: Viewer, node: T): T {
  if (!sees(viewer, node)) throw notFound('node.not_found', `no node with id ${node.id}`);
  return node;
}
