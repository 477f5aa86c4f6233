import { afterEach, describe, expect, it } from 'vitest';
import { TrellisError } from '../../../../server/errors.ts';
import { httpStatus } from '../../../../server/http/error-handler.ts';
import { LoginSessions, randomId, type LoginSession } from '../../../../server/identity/oidc/login-sessions.ts';
import { createSqliteStore } from '../../../../server/store/sqlite/index.ts';
import type { Store } from '../../../../server/store/store.ts';

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
  const stores: Store[] = [];
  const store = () => {
    const s = createSqliteStore(':memory:');
    stores.push(s);
    return s;
  };
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
  });

  it('when full, refuse another with 503 login.busy (a retry helps), not an internal error', async () => {
    const sessions = new LoginSessions(store(), () => T0, 2);
    await sessions.add(session(T0));
    await sessions.add(session(T0));
    const err = await sessions.add(session(T0)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrellisError);
    const coded = err as TrellisError;
    expect([coded.code, httpStatus(coded), coded.retryable]).toEqual(['login.busy', 503, true]);
  });

  it('make room again once the open ones have expired', async () => {
    let now = T0;
    const sessions = new LoginSessions(store(), () => now, 1);
    await sessions.add(session(now));
    now += 60_000;
    await expect(sessions.add(session(now))).resolves.toBeUndefined();
  });

  it('fail a pending one past its time, and its state then names no sign-in', async () => {
    let now = T0;
    const sessions = new LoginSessions(store(), () => now);
    const s = session(now);
    await sessions.add(s);
    now += 60_000;
    expect(await sessions.get(s.id)).toMatchObject({ status: 'failed', error: { code: 'login.expired' } });
    expect(await sessions.byOAuthState(s.state)).toBeUndefined();
  });

  it('settle once: a second outcome loses and changes nothing', async () => {
    const db = store();
    const sessions = new LoginSessions(db, () => T0);
    const s = session(T0);
    await sessions.add(s);
    const u = (await db.users.upsert({ subject: 'idp:alice', email: 'a@x', displayName: 'Alice', groups: [] }, T0))
      .record;
    const proof = { issuer: 'https://idp', subject: 'alice' };
    expect(await sessions.settle(s, { status: 'complete', userId: u.id, email: 'a@x', proof })).toBe(true);
    expect(await sessions.settle(s, { status: 'failed', error: { code: 'oidc.failed', message: 'late' } })).toBe(false);
    expect(await sessions.get(s.id)).toMatchObject({ status: 'complete', email: 'a@x' });
  });

  it('wake a waiter at once when the sign-in settles in this process', async () => {
    const sessions = new LoginSessions(store(), Date.now, 10, 60_000);
    const s = { ...session(Date.now()), expiresAt: Date.now() + 60_000 };
    await sessions.add(s);
    const waited = sessions.wait(s, 30_000);
    await sessions.settle(s, { status: 'failed', error: { code: 'oidc.denied', message: 'no' } });
    expect(await waited).toMatchObject({ status: 'failed', error: { code: 'oidc.denied' } });
  });
});
