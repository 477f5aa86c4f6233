import type { LiveEvent } from '../../protocol/live-events.ts';
import type { Viewer } from '../http/route.ts';

/** A live event with who may see it: the owner of the node it is about (members see only theirs). */
interface Scoped {
  event: LiveEvent;
  /** Absent: only operators (viewer `all`) see it. */
  ownerId?: string;
}

type Subscriber = (event: LiveEvent) => void;

/**
 * The console's live view of the mesh: the engine's node events, primary changes and policy
 * applies, fanned out to every open event stream, each filtered by what its caller may see.
 * Nothing is kept: a stream that reconnects reloads what it shows.
 */
export class LiveEvents {
  private readonly subscribers = new Map<Subscriber, Viewer>();

  publish(s: Scoped): void {
    for (const [send, viewer] of this.subscribers) {
      if (viewer.kind === 'all' || (s.ownerId !== undefined && s.ownerId === viewer.userId)) send(s.event);
    }
  }

  /** Returns the unsubscribe. */
  subscribe(viewer: Viewer, send: Subscriber): () => void {
    this.subscribers.set(send, viewer);
    return () => this.subscribers.delete(send);
  }

  get size(): number {
    return this.subscribers.size;
  }
}
