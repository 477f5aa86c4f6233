import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LocalApiClient } from '../../../client/agent/local-api/client.ts';
import { LocalApi } from '../../../client/agent/local-api/server.ts';
import { signInThroughAgent } from '../../../client/cli/local/sign-in.ts';
import { FormUser } from '../../support/form-user.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { idpConfig, startTestIdp, type TestIdp } from '../../support/test-idp.ts';
import { startLocalAgent } from '../../support/local-agent.ts';

/**
 * A person's sign-in run by the agent and followed by the CLI over the local API: a real server,
 * a real OpenID provider, the person clicking through it as plain HTTP (FormUser). The engine
 * has no device; `waitMs: 0` makes the join return once registered.
 */
const KEY_EXPIRY_S = 3600;

describe('signing a person in through the agent', () => {
  let idp: TestIdp;
  let server: TestServer;
  let callbackUrl = '';
  let dir: string;
  let api: LocalApi;
  let client: LocalApiClient;

  beforeAll(async () => {
    idp = await startTestIdp(
      { alice: { email: 'alice@example.com', email_verified: true, name: 'Alice', groups: ['eng'] } },
      () => callbackUrl,
    );
    server = await startTestServer({ nodes: { keyExpirySeconds: KEY_EXPIRY_S }, oidc: idpConfig(idp) });
    callbackUrl = `${server.url}/login/callback`;
  });
  afterAll(async () => {
    await server.stop();
    await idp.close();
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-signin-'));
    ({ api } = await startLocalAgent(dir));
    client = new LocalApiClient(join(dir, 'agent.sock'));
  });
  afterEach(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The person opens the hand-off page, continues to the provider, signs in, lands on "approved". */
  const personSignsIn = async (url: string) => {
    const person = new FormUser();
    expect((await person.get(url)).status).toBe(200);
    const authorize = new URL((await person.get(`${url}/continue`)).headers.get('location')!);
    const back = await person.signInAtProvider(authorize.href, 'alice', callbackUrl);
    expect((await person.get(back.href)).status).toBe(200);
  };

  it('prints the URL and code, waits, and joins as the person once they signed in; expiry and renewal keep the node', async () => {
    const out: string[] = [];
    let signing: Promise<void> | undefined;
    const status = await signInThroughAgent(
      client,
      { serverUrl: server.url, hostname: 'alice-laptop', waitMs: 0 },
      {
        write: (t) => out.push(t),
        open: (url) => {
          signing = personSignsIn(url);
          return false; // as on a machine without a display
        },
      },
    );
    await signing;
    const printed = out.join('');
    expect(printed).toMatch(
      new RegExp(
        `^To sign in, open ${server.url}/login/\\S+\\n\\(the page shows the code \\S+; continue only if it matches\\)\\nWaiting`,
      ),
    );
    expect(status.self).toMatchObject({ name: 'alice-laptop', user: 'alice@example.com', tags: [] });
    const expiry = Date.parse(status.keyExpiry!);
    expect(expiry - Date.now()).toBeGreaterThan((KEY_EXPIRY_S - 60) * 1000);
    expect(status.signIn).toBeUndefined(); // a fresh key is far from expiry

    // The administrator expires the node: the server ends its membership, status asks for a sign-in.
    expect((await server.admin('POST', `/api/v1/nodes/${status.self!.id}/expire`, {})).status).toBe(200);
    const deadline = Date.now() + 5_000;
    let after = await client.status();
    while (after.state !== 'needs-login' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      after = await client.status();
    }
    expect(after).toMatchObject({ state: 'needs-login', lastError: expect.stringContaining('sign in again') });

    // `trellis up --login` again: the same node, the same addresses, a new expiry.
    const again = await signInThroughAgent(
      client,
      { waitMs: 0 },
      { write: () => undefined, open: (url) => ((signing = personSignsIn(url)), true) },
    );
    await signing;
    expect(again.self).toMatchObject({
      id: status.self!.id,
      ipv4: status.self!.ipv4,
      ipv6: status.self!.ipv6,
      user: 'alice@example.com',
    });
    expect(Date.parse(again.keyExpiry!)).toBeGreaterThan(Date.now());
  }, 30_000);

  it("hands the device flow's user code to the CLI", async () => {
    const started = await client.login({ serverUrl: server.url, hostname: 'headless', device: true, waitMs: 0 });
    expect(started.prompt).toMatchObject({
      mode: 'device',
      userCode: expect.stringMatching(/\S/),
      url: expect.stringContaining(idp.issuer),
    });
    expect(await client.waitLogin(started.id, 100)).toEqual({ status: 'pending' });
    await new FormUser().signInAtProvider(started.prompt.url, 'alice', '');
    let answer = await client.waitLogin(started.id, 20_000);
    while (answer.status === 'pending') answer = await client.waitLogin(started.id, 20_000);
    expect(answer.result.self).toMatchObject({ name: 'headless', user: 'alice@example.com' });
    // Finished: it cannot be waited for again.
    await expect(client.waitLogin(started.id, 0)).rejects.toMatchObject({ code: 'agent.not_found' });
  }, 40_000);

  it('cancels a sign-in the person gave up on, and a new one replaces an old one', async () => {
    const first = await client.login({ serverUrl: server.url, waitMs: 0 });
    const second = await client.login({ serverUrl: server.url, waitMs: 0 });
    await expect(client.waitLogin(first.id, 0)).rejects.toMatchObject({ code: 'agent.not_found' });
    expect(await client.cancelLogin(second.id)).toEqual({ cancelled: true });
    await expect(client.waitLogin(second.id, 0)).rejects.toMatchObject({ code: 'agent.not_found' });
    expect((await client.status()).state).toBe('needs-login');
  });

  it('says what went wrong when the server cannot sign anyone in (an unknown provider)', async () => {
    await expect(client.login({ serverUrl: server.url, provider: 'nope' })).rejects.toMatchObject({
      code: 'agent.join_failed',
      message: expect.stringContaining(`signing in at ${server.url} failed`),
    });
  });
});
