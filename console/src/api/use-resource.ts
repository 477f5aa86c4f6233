import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { ApiError } from './http.ts';

export interface Resource<T> {
  data?: T;
  error?: ApiError;
  loading: boolean;
  reload: () => void;
  /** Changes the loaded data in place (a live event's patch); nothing when nothing is loaded. */
  update: (change: (data: T) => T) => void;
}

/** One API answer for a component: loaded on mount and when `deps` change, reloadable. */
export function useResource<T>(load: () => Promise<T>, deps: unknown[] = []): Resource<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({ loading: true });
  const generation = useRef(0);
  const reload = useCallback(() => {
    const mine = ++generation.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => mine === generation.current && setState({ data, loading: false }),
      // What was shown before no longer answers what was asked: show the error alone.
      (error: ApiError) => mine === generation.current && setState({ error, loading: false }),
    );
  }, deps);
  useEffect(reload, [reload]);
  const update = useCallback((change: (data: T) => T) => {
    setState((s) => (s.data === undefined ? s : { ...s, data: change(s.data) }));
  }, []);
  return { ...state, reload, update };
}
