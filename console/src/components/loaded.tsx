import type { ComponentChildren } from 'preact';
import type { Resource } from '../api/use-resource.ts';
import { ErrorNote, Loading } from './feedback.tsx';

/**
 * An API answer's three states in one place: loading, the server's error (with a way to try
 * again), or what the answer shows. A reload keeps the last answer on screen while it runs.
 */
export function Loaded<T>(p: { resource: Resource<T>; what: string; children: (data: T) => ComponentChildren }) {
  const { data, error, reload } = p.resource;
  if (error) return <ErrorNote error={error} title={`Could not load ${p.what}`} retry={reload} />;
  if (data === undefined) return <Loading what={p.what} />;
  return <>{p.children(data)}</>;
}
