import { useEffect, useRef } from 'preact/hooks';
import type { LiveEvent } from '../../../protocol/live-events.ts';

/**
 * Live events (server-sent events at GET /api/v1/console/events): a node joined, went online or
 * offline, changed, left or reached its peers by other paths; a route's primary moved; the policy changed. EventSource reconnects
 * by itself; events sent while it was away are lost, so a page that patches its data from events
 * also hears when the stream reopens (`onReopen`) and reloads then.
 */
export type { LiveEvent };
export type LiveEventType = 'node' | 'route' | 'policy';

export const EVENTS_PATH = '/api/v1/console/events';
/** One entry per wire type: the compiler fails here when protocol/live-events.ts gains one. */
const TYPE_SET: Record<LiveEvent['type'], true> = {
  'node.joined': true,
  'node.online': true,
  'node.offline': true,
  'node.updated': true,
  'node.removed': true,
  'node.paths': true,
  'route.primary': true,
  'policy.changed': true,
};
const TYPES = Object.keys(TYPE_SET) as LiveEvent['type'][];
const isType = (t: string): t is LiveEvent['type'] => Object.hasOwn(TYPE_SET, t);

type Listener = (e: LiveEvent) => void;
const listeners = new Set<Listener>();
const reopenListeners = new Set<() => void>();
let source: EventSource | undefined;
let openedBefore = false;
let status: 'connecting' | 'live' | 'down' = 'connecting';
const statusListeners = new Set<(s: typeof status) => void>();

function setStatus(s: typeof status) {
  status = s;
  for (const l of statusListeners) l(s);
}

function connect() {
  if (source || typeof EventSource === 'undefined') return;
  source = new EventSource(EVENTS_PATH, { withCredentials: true });
  source.onopen = () => {
    setStatus('live');
    if (openedBefore) for (const l of reopenListeners) l();
    openedBefore = true;
  };
  source.onerror = () => setStatus(source?.readyState === EventSource.CLOSED ? 'down' : 'connecting');
  const deliver = (type: LiveEvent['type']) => (m: MessageEvent<string>) => {
    let data: Partial<LiveEvent> = {};
    try {
      data = JSON.parse(m.data) as Partial<LiveEvent>;
    } catch {
      // An event without a JSON body still says that something of its type changed.
    }
    for (const l of listeners) l({ at: new Date().toISOString(), ...data, type });
  };
  for (const t of TYPES) source.addEventListener(t, deliver(t));
  // An unnamed event names its type in its body.
  source.onmessage = (m: MessageEvent<string>) => {
    const type = /"type"\s*:\s*"([^"]+)"/.exec(m.data)?.[1];
    if (type && isType(type)) deliver(type)(m);
  };
}

/**
 * Calls `onEvent` for every live event whose type starts with one of `kinds` (debounced per
 * component, in arrival order), and `onReopen` when the stream comes back after a break.
 */
export function useLive(
  kinds: LiveEventType[],
  onEvent: (events: LiveEvent[]) => void,
  opts: { debounceMs?: number; onReopen?: () => void } = {},
): void {
  const { debounceMs = 250 } = opts;
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const reopen = useRef(opts.onReopen);
  reopen.current = opts.onReopen;
  useEffect(() => {
    connect();
    const onReopen = () => reopen.current?.();
    reopenListeners.add(onReopen);
    let pending: LiveEvent[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const listener: Listener = (e) => {
      if (!kinds.some((k) => e.type.startsWith(`${k}.`))) return;
      pending.push(e);
      timer ??= setTimeout(() => {
        const batch = pending;
        pending = [];
        timer = undefined;
        handler.current(batch);
      }, debounceMs);
    };
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      reopenListeners.delete(onReopen);
      if (timer) clearTimeout(timer);
    };
  }, [kinds.join(',')]);
}

/** Whether live updates are flowing, for the header's indicator. */
export function useLiveStatus(onChange: (s: 'connecting' | 'live' | 'down') => void): void {
  useEffect(() => {
    connect();
    onChange(status);
    statusListeners.add(onChange);
    return () => void statusListeners.delete(onChange);
  }, [onChange]);
}
