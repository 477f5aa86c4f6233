import { ed25519 } from '@noble/curves/ed25519.js';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signProof } from '../../../protocol/proof.ts';
import { MachineProofVerifier } from '../../../server/identity/machine-proof.ts';
import { LoginSessions, randomId, type LoginSession } from '../../../server/identity/oidc/login-sessions.ts';
import { loadServerKey } from '../../../server/relay/server-key.ts';
import { createPostgresStore } from '../../../server/store/postgres/index.ts';
import type { Store } from '../../../server/store/store.ts';
import { startPostgres, type TestPostgres } from '../../support/postgres.ts';
import { describeWith, hasPostgres } from '../../support/prerequisites.ts';

/**
 * Two server replicas, as two stores over one PostgreSQL: what identity keeps for a while
 * (sign-ins, used proof nonces) and the relay's key are the same on both.
 */
describeWith([hasPostgres()], 'identity state across two replicas on one PostgreSQL', () => {
  let postgres: TestPostgres;
  let a: Store;
  let b: Store;
  const dirs: string[] = [];
  beforeAll(async () => {
    postgres = await startPostgres();
    const url = await postgres.database();
    const open = () => createPostgresStore({ url, poolSize: 4 });
    [a, b] = await Promise.all([open(), open()]);
  }, 60_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    await postgres?.stop();
  }, 60_000);

  const signIn = (): LoginSession => {
    const id = randomId();
    return {
      id,
      machineKey: 'machine-1',
      hostname: 'laptop',
      provider: 'idp',
      mode: 'browser',
      state: `state-${id}`,
      nonce: 'nonce',
      codeVerifier: 'verifier',
      createdAt: Date.now(),
      expiresAt: Date.now() + 60_000,
      status: 'pending',
    };
  };

  it('finishes on B a sign-in started on A; the agent waiting on A learns it, and it is used once', async () => {
    const onA = new LoginSessions(a, Date.now, 100, 50);
    const onB = new LoginSessions(b, Date.now, 100, 50);
    const started = signIn();
    await onA.add(started);
    // The browser's hand-off and the provider's callback land on B.
    const found = await onB.byOAuthState(started.state);
    expect(found?.id).toBe(started.id);
    expect(await onB.bindBrowser(started.id, 'browser')).toBe(true);
    const waiting = onA.wait(started, 10_000);
    const person = (await b.users.upsert({ subject: 'idp:a', email: 'a@example.com', displayName: 'A', groups: [] }, 1))
      .record;
    const proof = { issuer: 'https://idp.example', subject: 'a' };
    expect(await onB.settle(found!, { status: 'complete', userId: person.id, email: person.email, proof })).toBe(true);
    expect(await waiting).toMatchObject({ status: 'complete', email: 'a@example.com', proof });
    // The state is spent for both; the registration through either uses it once.
    expect(await onA.byOAuthState(started.state)).toBeUndefined();
    const uses = await Promise.all([onA.consume(started.id, 'machine-1'), onB.consume(started.id, 'machine-1')]);
    expect(uses.sort()).toEqual([false, true]);
    onA.close();
    onB.close();
  });

  it('refuses on B a machine proof A accepted (a replay), and the other way round', async () => {
    const onA = new MachineProofVerifier(undefined, a.proofNonces);
    const onB = new MachineProofVerifier(undefined, b.proofNonces);
    const secret = ed25519.utils.randomSecretKey();
    const machineKey = Buffer.from(ed25519.getPublicKey(secret)).toString('base64');
    const body = new TextEncoder().encode('{}');
    const now = Date.now();
    const proofOf = () =>
      signProof({
        machinePrivateKey: secret,
        method: 'POST',
        pathWithQuery: '/api/v1/machine/update',
        body,
        nowMs: now,
      });
    const verify = (v: MachineProofVerifier, header: string) =>
      v.verifyShared(header, 'POST', '/api/v1/machine/update', body, now).then((r) => r.machineKey);

    const first = proofOf();
    expect(await verify(onA, first)).toBe(machineKey);
    await expect(verify(onB, first)).rejects.toMatchObject({ code: 'proof.replayed' });
    const second = proofOf();
    expect(await verify(onB, second)).toBe(machineKey);
    await expect(verify(onA, second)).rejects.toMatchObject({ code: 'proof.replayed' });
    // Sent to both at once: exactly one takes it.
    const third = proofOf();
    const results = await Promise.allSettled([verify(onA, third), verify(onB, third)]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
  });

  it('gives each of many nonces offered to both at once, in any order, to exactly one of them', async () => {
    const nonces = Array.from({ length: 400 }, () => randomBytes(16));
    const now = Date.now();
    const shuffled = () => [...nonces].sort(() => Math.random() - 0.5);
    const offer = (store: Store) =>
      Promise.all(
        shuffled().map(async (n) => ((await store.proofNonces.use(n, now + 60_000, now)) ? n.toString('hex') : '')),
      );
    const [onA, onB] = await Promise.all([offer(a), offer(b)]);
    const takers = [...onA, ...onB].filter(Boolean);
    expect(takers.sort()).toEqual(nonces.map((n) => n.toString('hex')).sort());
  });

  it('gives both the same relay key, each keeping a copy in its own data directory', async () => {
    const dir = () => {
      const d = mkdtempSync(join(tmpdir(), 'trellis-replica-'));
      dirs.push(d);
      return d;
    };
    const [ka, kb] = await Promise.all([loadServerKey(a.serverKeys, dir(), 1), loadServerKey(b.serverKeys, dir(), 2)]);
    expect(kb.publicKeyBase64).toBe(ka.publicKeyBase64);
  });
});
