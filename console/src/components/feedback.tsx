import type { ComponentChildren } from 'preact';
import type { ApiError } from '../api/http.ts';

/** An API error as the server said it: message, where, code (and every detail). */
export function ErrorNote({ error, title }: { error?: ApiError | undefined; title?: string }) {
  if (!error) return null;
  return (
    <div class="note error" role="alert">
      {title && <strong>{title}: </strong>}
      <span>{error.body.message.split('\n')[0]}</span>
      {error.body.where && <span class="where"> ({error.body.where})</span>} <code class="code">{error.code}</code>
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

export function Loading({ what }: { what: string }) {
  return <p aria-busy="true">Loading {what}…</p>;
}

/** Shown in place of an action the session's role may not take. */
export function ReadOnlyHint({ what }: { what: string }) {
  return <p class="muted">Your role can view {what} but not change it.</p>;
}
