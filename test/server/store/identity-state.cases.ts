import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ConsoleSignInRecord, LoginSessionRecord } from '../../../server/store/records.ts';
import type { Store } from '../../../server/store/store.ts';

/**
 * The store's part of identity that every replica must share: agents' and console sign-ins,
 * used proof nonces and the relay key (run by runStoreCases on every driver).
 */
export function identityStateCases(store: () => Store, T0: number): void {
  const signIn = (over: Partial<LoginSessionRecord> = {}): LoginSessionRecord => ({
    id: randomBytes(16).toString('base64url'),
    machineKey: randomBytes(32).toString('base64'),
    hostname: 'laptop',
    provider: 'idp',
    mode: 'browser',
    state: randomBytes(16).toString('base64url'),
    nonce: randomBytes(16).toString('base64url'),
    codeVerifier: randomBytes(32).toString('base64url'),
    createdAt: T0,
    expiresAt: T0 + 300_000,
    status: 'pending',
    ...over,
  });
  const proof = { issuer: 'https://idp.example', subject: 'sub-1' };
  const person = async (email: string) =>
    (await store().users.upsert({ subject: `idp:${email}`, email, displayName: email, groups: [] }, T0)).record;

  describe("agents' sign-ins", () => {
    it('stores one as it was given, found by id and, while pending, by its OAuth state', async () => {
      const s = signIn();
      await store().loginSessions.create(s);
      expect(await store().loginSessions.get(s.id)).toEqual(s);
      expect(await store().loginSessions.pendingByState(s.state)).toEqual(s);
      expect(await store().loginSessions.get('missing')).toBeUndefined();
    });

    it('refuses a second sign-in with the same state', async () => {
      const s = signIn();
      await store().loginSessions.create(s);
      await expect(store().loginSessions.create(signIn({ state: s.state }))).rejects.toThrow();
    });

    it('binds a browser and settles only while pending; the first outcome wins and the state names it no more', async () => {
      const u = await person('alice@example.com');
      const s = signIn();
      await store().loginSessions.create(s);
      expect(await store().loginSessions.bindBrowser(s.id, 'browser-1')).toBe(true);
      const outcome = { status: 'complete', userId: u.id, email: u.email, proof } as const;
      expect(await store().loginSessions.settle(s.id, outcome)).toBe(true);
      expect(
        await store().loginSessions.settle(s.id, { status: 'failed', error: { code: 'oidc.failed', message: 'x' } }),
      ).toBe(false);
      expect(await store().loginSessions.bindBrowser(s.id, 'browser-2')).toBe(false);
      expect(await store().loginSessions.get(s.id)).toEqual({ ...s, ...outcome, browserBinding: 'browser-1' });
      expect(await store().loginSessions.pendingByState(s.state)).toBeUndefined();
    });

    it('is used once, by the machine that started it, and only once complete', async () => {
      const u = await person('bob@example.com');
      const s = signIn();
      await store().loginSessions.create(s);
      expect(await store().loginSessions.consume(s.id, s.machineKey)).toBe(false);
      await store().loginSessions.settle(s.id, { status: 'complete', userId: u.id, email: u.email, proof });
      expect(await store().loginSessions.consume(s.id, 'another-machine')).toBe(false);
      const uses = await Promise.all([1, 2, 3].map(() => store().loginSessions.consume(s.id, s.machineKey)));
      expect(uses.filter(Boolean)).toHaveLength(1);
      expect((await store().loginSessions.get(s.id))?.status).toBe('used');
    });

    it('keeps a failure with its code, counts the unexpired, and prunes the expired', async () => {
      const failed = signIn({ expiresAt: T0 + 1000 });
      const open = signIn({ expiresAt: T0 + 5000 });
      for (const s of [failed, open]) await store().loginSessions.create(s);
      const error = { code: 'oidc.denied', message: 'the person declined' };
      await store().loginSessions.settle(failed.id, { status: 'failed', error });
      expect((await store().loginSessions.get(failed.id))?.error).toEqual(error);
      expect(await store().loginSessions.countOpen(T0 + 1000)).toBe(1);
      expect(await store().loginSessions.prune(T0 + 1001)).toBe(1);
      expect(await store().loginSessions.get(failed.id)).toBeUndefined();
      expect(await store().loginSessions.get(open.id)).toBeDefined();
    });

    it("goes with its person's removal", async () => {
      const u = await person('carol@example.com');
      const s = signIn();
      await store().loginSessions.create(s);
      await store().loginSessions.settle(s.id, { status: 'complete', userId: u.id, email: u.email, proof });
      await store().users.delete(u.id);
      expect(await store().loginSessions.get(s.id)).toBeUndefined();
    });
  });

  describe('console sign-ins', () => {
    const consoleSignIn = (over: Partial<ConsoleSignInRecord> = {}): ConsoleSignInRecord => ({
      state: `console.${randomBytes(16).toString('base64url')}`,
      provider: 'idp',
      nonce: randomBytes(16).toString('base64url'),
      codeVerifier: randomBytes(32).toString('base64url'),
      browserBinding: randomBytes(24).toString('base64url'),
      next: '/console/machines',
      createdAt: T0,
      expiresAt: T0 + 300_000,
      ...over,
    });

    it('gives a sign-in back once, by its state: two takes at once, one gets it', async () => {
      const s = consoleSignIn();
      await store().consoleSignIns.create(s);
      const [first, second] = await Promise.all([
        store().consoleSignIns.take(s.state),
        store().consoleSignIns.take(s.state),
      ]);
      expect([first, second].filter(Boolean)).toEqual([s]);
      expect(await store().consoleSignIns.take(s.state)).toBeUndefined();
    });

    it('counts those still open and prunes those that expired', async () => {
      const open = consoleSignIn();
      const expired = consoleSignIn({ expiresAt: T0 + 10 });
      for (const s of [open, expired]) await store().consoleSignIns.create(s);
      expect(await store().consoleSignIns.countOpen(T0 + 20)).toBe(1);
      expect(await store().consoleSignIns.prune(T0 + 20)).toBe(1);
      expect(await store().consoleSignIns.take(expired.state)).toBeUndefined();
      expect(await store().consoleSignIns.take(open.state)).toEqual(open);
    });
  });

  describe('used proof nonces', () => {
    it('takes a nonce once until it is forgotten, then again', async () => {
      const nonce = randomBytes(16);
      expect(await store().proofNonces.use(nonce, T0 + 60_000, T0)).toBe(true);
      expect(await store().proofNonces.use(nonce, T0 + 61_000, T0 + 1000)).toBe(false);
      expect(await store().proofNonces.use(Buffer.from(nonce), T0 + 60_000, T0 + 60_000)).toBe(false);
      expect(await store().proofNonces.use(nonce, T0 + 120_001, T0 + 60_001)).toBe(true);
    });

    it('gives a nonce offered many times at once to exactly one', async () => {
      const nonce = randomBytes(16);
      const taken = await Promise.all(Array.from({ length: 8 }, () => store().proofNonces.use(nonce, T0 + 60_000, T0)));
      expect(taken.filter(Boolean)).toHaveLength(1);
    });

    it('takes each of many nonces offered at once, and refuses those among them already used', async () => {
      const used = Array.from({ length: 20 }, () => randomBytes(16));
      for (const n of used) await store().proofNonces.use(n, T0 + 60_000, T0);
      const fresh = Array.from({ length: 600 }, () => randomBytes(16));
      const offered = [...fresh, ...used].sort(() => Math.random() - 0.5);
      const taken = await Promise.all(offered.map((n) => store().proofNonces.use(n, T0 + 61_000, T0 + 1000)));
      const takenNonces = new Set(offered.filter((_, i) => taken[i]).map((n) => n.toString('hex')));
      expect(takenNonces).toEqual(new Set(fresh.map((n) => n.toString('hex'))));
      // Each stays taken: offered again, none is.
      const again = await Promise.all(fresh.map((n) => store().proofNonces.use(n, T0 + 62_000, T0 + 2000)));
      expect(again.filter(Boolean)).toHaveLength(0);
    });

    it('prunes only the forgotten', async () => {
      const [old, fresh] = [randomBytes(16), randomBytes(16)];
      await store().proofNonces.use(old, T0 + 1000, T0);
      await store().proofNonces.use(fresh, T0 + 5000, T0);
      expect(await store().proofNonces.prune(T0 + 1001)).toBe(1);
      expect(await store().proofNonces.use(fresh, T0 + 9000, T0 + 1001)).toBe(false);
    });
  });

  describe('server keys', () => {
    it('keeps the first key stored under a name, whoever offers another', async () => {
      const [a, b] = [randomBytes(32).toString('base64'), randomBytes(32).toString('base64')];
      const kept = await Promise.all([a, b].map((k, i) => store().serverKeys.addFirst('relay-wireguard', k, T0 + i)));
      expect(kept[0]).toBe(kept[1]);
      expect([a, b]).toContain(kept[0]);
      expect(await store().serverKeys.addFirst('relay-wireguard', randomBytes(32).toString('base64'), T0)).toBe(
        kept[0],
      );
      expect(await store().serverKeys.addFirst('other', a, T0)).toBe(a);
    });
  });
}
