import { describe, expect, it } from 'vitest';
import { TrellisError } from '../../../../server/errors.ts';
import { httpStatus } from '../../../../server/http/error-handler.ts';
import { LoginSessions, randomId, type LoginSession } from '../../../../server/identity/oidc/login-sessions.ts';

const T0 = 1_700_000_000_000;

function session(now: number): LoginSession {
  const id = randomId();
  return {
    id,
    machineKey: 'mkey',
    hostname: 'laptop',
    provider: 'idp',
    mode: 'browser',
    state: `state-${id}`,
    nonce: 'nonce',
    codeVerifier: 'verifier',
    createdAt: now,
    expiresAt: now + 60_000,
    status: 'pending',
  };
}

describe('open sign-ins', () => {
  it('when full, refuse another with 503 login.busy (a retry helps), not an internal error', () => {
    const sessions = new LoginSessions(() => T0, 2);
    sessions.add(session(T0));
    sessions.add(session(T0));
    let refused: unknown;
    try {
      sessions.add(session(T0));
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(TrellisError);
    const err = refused as TrellisError;
    expect([err.code, httpStatus(err), err.retryable]).toEqual(['login.busy', 503, true]);
  });

  it('make room again once the open ones have ended and been swept', () => {
    let now = T0;
    const sessions = new LoginSessions(() => now, 1);
    sessions.add(session(now));
    now += 60_000 + 10 * 60_000;
    expect(() => sessions.add(session(now))).not.toThrow();
  });
});
