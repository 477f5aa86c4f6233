import * as client from 'openid-client';
import type { AnswerCode } from '../../error-codes.ts';
import { TrellisError } from '../../errors.ts';
import { personFromClaims, type SignedInPerson } from './person.ts';
import type { OidcProvider } from './providers.ts';

/**
 * Talking to an identity provider, shared by the agents' sign-in (login-service.ts) and the
 * console's (server/console/console-sign-in.ts): each exchange's errors translated into ours,
 * and the person read from the tokens (ID token, then userinfo) under the provider's rules.
 */

export function fail(kind: TrellisError['kind'], code: AnswerCode, message: string, cause?: unknown): TrellisError {
  return new TrellisError(kind, code, message, { cause });
}

/** The person the tokens prove: ID token claims win over userinfo's. */
export async function personFromTokens(
  provider: OidcProvider,
  tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers,
): Promise<SignedInPerson> {
  const idClaims = (tokens.claims() ?? {}) as Record<string, unknown>;
  let claims = idClaims;
  if (provider.client.serverMetadata().userinfo_endpoint && tokens.access_token && typeof idClaims.sub === 'string') {
    const info = await exchange(() =>
      client.fetchUserInfo(provider.client, tokens.access_token, idClaims.sub as string),
    );
    claims = { ...info, ...Object.fromEntries(Object.entries(idClaims).filter(([, v]) => v !== undefined)) };
  }
  return personFromClaims(provider.config, claims);
}

/** Runs one exchange with the provider, translating its errors into ours (keeping the cause). */
export async function exchange<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw translate(err);
  }
}

function translate(err: unknown): TrellisError {
  if (err instanceof TrellisError) return err;
  const e = err as { name?: string; code?: string; message?: string; error?: string; error_description?: string };
  if (e instanceof client.AuthorizationResponseError) {
    return fail(
      'forbidden',
      'oidc.denied',
      `the identity provider refused the sign-in: ${e.error}${e.error_description ? ` (${e.error_description})` : ''}`,
      err,
    );
  }
  if (e instanceof client.ResponseBodyError && (e.error === 'invalid_grant' || e.error === 'invalid_request')) {
    return fail(
      'unauthenticated',
      'oidc.code_rejected',
      `the identity provider refused the authorization code (used before, expired, or not issued for this sign-in and its PKCE verifier): ${e.error_description ?? e.error}`,
      err,
    );
  }
  if (e instanceof client.ResponseBodyError && e.error === 'access_denied')
    return fail('unauthenticated', 'oidc.denied', 'the sign-in was denied at the identity provider', err);
  if (e instanceof client.ResponseBodyError && e.error === 'expired_token')
    return fail('unauthenticated', 'login.expired', 'the device code expired before it was approved; start again', err);
  if (e.code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' && aboutNonce(err)) {
    return fail(
      'unauthenticated',
      'oidc.nonce_mismatch',
      'the ID token was not issued for this sign-in (its nonce does not match); start again',
      err,
    );
  }
  if (e.name === 'AbortError') return fail('unavailable', 'login.closed', 'the sign-in was closed', err);
  return fail(
    'unauthenticated',
    'oidc.invalid_response',
    `the identity provider's answer was not accepted: ${e.message ?? 'unknown error'}`,
    err,
  );
}

/** Whether a claim-comparison failure (or its cause) is about the ID token's nonce. */
function aboutNonce(err: unknown): boolean {
  for (
    let e = err as { message?: string; claim?: string; cause?: unknown } | undefined, i = 0;
    e && i < 4;
    e = e.cause as typeof e, i++
  ) {
    if (e.claim === 'nonce' || /nonce/.test(e.message ?? '')) return true;
  }
  return false;
}
