import { useEffect, useRef } from 'preact/hooks';

/**
 * Live events (server-sent events at GET /api/v1/console/events): a node joined, went online or
 * offline, changed or left; a route's primary moved; the policy changed. EventSource reconnects
 * by itself; the console reloads what an event touches, so a missed event heals at the next one.
 */
export type LiveEventType = 'node' | 'route' | 'policy';
export interface LiveEvent {
  type: string;
  nodeId?: string;
  [field: string]: unknown;
}

export const EVENTS_PATH = '/api/v1/console/events';
const TYPES = [
  'node.joined',
  'node.online',
  'node.offline',
  'node.updated',
  'node.removed',
  'route.primary',
  'policy.changed',
];

type Listener = (e: LiveEvent) => void;
const listeners = new Set<Listener>();
let source: EventSource | undefined;
let status: 'connecting' | 'live' | 'down' = 'connecting';
const statusListeners = new Set<(s: typeof status) => void>();

function setStatus(s: typeof status) {
  status = s;
  for (const l of statusListeners) l(s);
}

function connect() {
  if (source || typeof EventSource === 'undefined') return;
  source = new EventSource(EVENTS_PATH, { withCredentials: true });
  source.onopen = () => setStatus('live');
  source.onerror = () => setStatus(source?.readyState === EventSource.CLOSED ? 'down' : 'connecting');
  const deliver = (type: string) => (m: MessageEvent<string>) => {
    let data: Record<string, unknown> = {};
    try {
      data = JSON.parse(m.data) as Record<string, unknown>;
    } catch {
      // An event without a JSON body still says that something of its type changed.
    }
    for (const l of listeners) l({ ...data, type });
  };
  for (const t of TYPES) source.addEventListener(t, deliver(t));
  // An unnamed event names its type in its body.
  source.onmessage = (m: MessageEvent<string>) => {
    const type = /"type"\s*:\s*"([^"]+)"/.exec(m.data)?.[1];
    if (type) deliver(type)(m);
  };
}

/** Calls `onEvent` for every live event whose type starts with one of `kinds` (debounced per component). */
export function useLive(kinds: LiveEventType[], onEvent: (events: LiveEvent[]) => void, debounceMs = 250): void {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => {
    connect();
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
