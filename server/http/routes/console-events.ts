import { LiveEvent } from '../../../protocol/live-events.ts';
import type { ConsoleSessions } from '../../console/console-sessions.ts';
import type { LiveEvents } from '../../console/live-events.ts';
import { route, type Route } from '../route.ts';

const KEEP_ALIVE_MS = 25_000;

/** The console's live events as server-sent events, scoped by the caller's role. */
export function consoleEventRoutes(d: { live: LiveEvents; sessions: ConsoleSessions; keepAliveMs?: number }): Route[] {
  return [
    route({
      method: 'get',
      path: '/api/v1/console/events',
      summary:
        'Live events (server-sent events): nodes joining, changing, leaving, online, offline; route primaries; policy changes',
      tag: 'console',
      auth: { kind: 'admin', scope: 'read', members: 'own' },
      response: LiveEvent,
      produces: 'text/event-stream',
      handle: async ({ viewer, caller, signal }) => {
        const encoder = new TextEncoder();
        let stop = () => {};
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            const write = (text: string) => {
              try {
                controller.enqueue(encoder.encode(text));
              } catch {
                stop(); // the stream closed under us
              }
            };
            const unsubscribe = d.live.subscribe(viewer, (e) =>
              write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`),
            );
            // A session that ends (sign-out, idle, expiry) ends its stream at the next keep-alive.
            const timer = setInterval(() => {
              if (caller.kind !== 'person') return write(': keep-alive\n\n');
              d.sessions.stillLive(caller.session.id).then(
                (live) => (live ? write(': keep-alive\n\n') : stop()),
                () => stop(),
              );
            }, d.keepAliveMs ?? KEEP_ALIVE_MS);
            const unwatch =
              caller.kind === 'person' ? d.sessions.onEnd((id) => id === caller.session.id && stop()) : () => {};
            stop = () => {
              clearInterval(timer);
              unsubscribe();
              unwatch();
              try {
                controller.close();
              } catch {
                // already closed
              }
            };
            signal.addEventListener('abort', () => stop());
            write(': connected\n\n');
          },
          cancel() {
            stop();
          },
        });
        return new Response(body, {
          headers: {
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-store',
            'x-accel-buffering': 'no',
          },
        }) as never;
      },
    }),
  ];
}
