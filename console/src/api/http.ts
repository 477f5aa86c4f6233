import type { ErrorBody } from '../../../protocol/errors.ts';

/** An answer other than 2xx: the server's coded error (protocol/errors.ts). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(body.message);
  }
  get code(): string {
    return this.body.code;
  }
}

/** The session's CSRF token, sent with every change (the session answer carries it). */
let csrfToken = '';
export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/** The one way the console calls the API: same-origin, the session cookie, JSON both ways. */
export async function request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown) {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, {
      code: 'console.unreachable',
      message: 'the server cannot be reached; check the connection',
    });
  }
  const text = res.status === 204 ? '' : await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    throw new ApiError(res.status, {
      code: 'console.bad_answer',
      message: `the server answered ${res.status} with no JSON`,
    });
  }
  if (!res.ok) {
    const err = json as Partial<ErrorBody> | undefined;
    throw new ApiError(res.status, {
      ...err,
      code: err?.code ?? `http.${res.status}`,
      message: err?.message ?? res.statusText,
    });
  }
  return json as T;
}

/** A path with query parameters, leaving out the empty ones. */
export function withQuery(path: string, query: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}
