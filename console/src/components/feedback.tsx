import type { ComponentChildren } from 'preact';
import type { ApiError } from '../api/http.ts';
import type { Action } from '../api/use-action.ts';

/** An API error as the server said it: message, where, code; and a way to try again when it is worth it. */
export function ErrorNote({
  error,
  title,
  retry,
}: {
  error?: ApiError | undefined;
  title?: string;
  retry?: () => void;
}) {
  if (!error) return null;
  return (
    <div class="note error" role="alert">
      {title && <strong>{title}: </strong>}
      <span>{error.body.message.split('\n')[0]}</span>
      {error.body.where && <span class="where"> ({error.body.where})</span>} <code class="code">{error.code}</code>
      {retry && (
        <>
          {' '}
          <button type="button" onClick={retry}>
            Try again
          </button>
        </>
      )}
    </div>
  );
}

/** A polite announcement: done, saved, copied. */
export function Notice({ children }: { children?: ComponentChildren }) {
  return (
    <div class="note ok" role="status">
      {children}
    </div>
  );
}

/** What the last action said: the server's refusal, or what was done. */
export function ActionResult({ action }: { action: Action }) {
  return (
    <>
      <ErrorNote error={action.error} />
      {action.done && <Notice>{action.done}</Notice>}
    </>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p aria-busy="true" role="status">
      Loading {what}…
    </p>
  );
}

/** Shown in place of an action the session's role may not take. */
export function ReadOnlyHint({ what }: { what: string }) {
  return <p class="muted">Your role can view {what} but not change it.</p>;
}
