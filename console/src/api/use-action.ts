import { useCallback, useState } from 'preact/hooks';
import { ApiError } from './http.ts';

export interface Action {
  /** The last action's refusal, or its announcement once done. */
  error?: ApiError;
  done: string;
  busy: boolean;
  /**
   * Runs `act`, clearing what the previous action said; on success announces `done` (given the
   * answer) and resolves true, on refusal keeps the server's error and resolves false.
   */
  run<T>(act: () => Promise<T>, done?: string | ((answer: T) => string)): Promise<boolean>;
  clear(): void;
}

/** A change the person asks for (revoke, expire, apply): its progress, refusal or outcome. */
export function useAction(): Action {
  const [state, setState] = useState<{ error?: ApiError; done: string; busy: boolean }>({ done: '', busy: false });
  const run = useCallback(async <T>(act: () => Promise<T>, done?: string | ((answer: T) => string)) => {
    setState({ done: '', busy: true });
    try {
      const answer = await act();
      setState({ done: typeof done === 'function' ? done(answer) : (done ?? ''), busy: false });
      return true;
    } catch (err) {
      const error = err instanceof ApiError ? err : new ApiError(0, { code: 'console.failed', message: String(err) });
      setState({ error, done: '', busy: false });
      return false;
    }
  }, []);
  const clear = useCallback(() => setState({ done: '', busy: false }), []);
  return { ...state, run, clear };
}
