import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../../server/store/sqlite/index.ts';
import type { Store } from '../../../server/store/store.ts';
import { FormUser } from '../../support/form-user.ts';
import { startPostgres, type TestPostgres } from '../../support/postgres.ts';
import { describeWith, hasPostgres } from '../../support/prerequisites.ts';
import { idpConfig, startTestIdp, type TestIdp } from '../../support/test-idp.ts';
import { startReplica, type InProcessReplica } from '../replication/replicas.ts';

/**
 * A console sign-in started on one replica and finished on another, as behind a load balancer:
 * the provider sends the browser back to a replica that never saw the sign-in begin. The
 * browser's cookies travel with it (one origin behind the balancer), so they are carried over.
 */
function signInAcrossReplicas(open: () => Promise<{ shared?: Store; store?: Record<string, unknown> }>) {
  let idp: TestIdp;
  let callbackUrl = '';
  const replicas: InProcessReplica[] = [];
  beforeAll(async () => {
    idp = await startTestIdp(
      { alice: { email: 'alice@example.com', email_verified: true, name: 'Alice', groups: [] } },
      () => callbackUrl,
    );
  });
  afterAll(async () => {
    await idp?.close();
  });
  afterEach(async () => {
    for (const r of replicas.splice(0).reverse()) await r.stop().catch(() => {});
  });

  /** Replica B, then replica A whose provider redirects come back to B. */
  const pair = async () => {
    const { shared, store } = await open();
    const overrides = { oidc: idpConfig(idp), console: { roles: { admin: { users: ['alice@example.com'] } } } };
    const b = await startReplica('b', shared, { ...overrides, ...(store && { store }) });
    replicas.push(b);
    callbackUrl = `${b.url}/login/callback`;
    const a = await startReplica('a', shared, { ...overrides, ...(store && { store }), publicUrl: b.url });
    replicas.push(a);
    return { a, b };
  };
  const cookiesOf = (res: Response) =>
    res.headers
      .getSetCookie()
      .map((line) => line.split(';')[0]!)
      .join('; ');

  it('finishes on B a sign-in begun on A, and the session works on both; the state is good for one return', async () => {
    const { a, b } = await pair();
    const browser = new FormUser();
    const begun = await fetch(`${a.url}/console/login?provider=test-idp`, { redirect: 'manual' });
    expect(begun.status).toBe(302);
    const back = await browser.signInAtProvider(begun.headers.get('location')!, 'alice', callbackUrl);
    expect(back.origin).toBe(new URL(b.url).origin);
    const binding = cookiesOf(begun);
    const done = await fetch(back.href, { headers: { cookie: binding }, redirect: 'manual' });
    expect(done.status).toBe(302);
    const session = cookiesOf(done);
    for (const r of [a, b]) {
      const me = await fetch(`${r.url}/api/v1/console/session`, { headers: { cookie: session } });
      expect(me.status).toBe(200);
      expect(((await me.json()) as { user: { email: string } }).user.email).toBe('alice@example.com');
    }
    // The same return again, on the replica where it began: spent everywhere.
    const again = await fetch(back.href.replace(b.url, a.url), { headers: { cookie: binding }, redirect: 'manual' });
    expect(again.status).toBe(400);
    expect(await again.text()).toContain('not in progress');
  });
}

describe('console sign-in across replicas on one SQLite store', () => {
  let store: Store | undefined;
  afterAll(() => store?.close());
  signInAcrossReplicas(async () => {
    await store?.close();
    store = createSqliteStore(':memory:');
    return { shared: store };
  });
});

describeWith([hasPostgres()], 'console sign-in across replicas on PostgreSQL', () => {
  let postgres: TestPostgres;
  beforeAll(async () => {
    postgres = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await postgres?.stop();
  });
  signInAcrossReplicas(async () => ({ store: { driver: 'postgres', url: await postgres.database() } }));
});
