import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LocalApiClient } from '../../../client/agent/local-api/client.ts';
import { LocalApi } from '../../../client/agent/local-api/server.ts';
import { signInThroughAgent } from '../../../client/cli/local/sign-in.ts';
import { signInWithOidc } from '../../../client/control/oidc-login.ts';
import { describeWith, hasCommand } from '../../support/prerequisites.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';
import { idpConfig, startTestIdp, type TestIdp } from '../../support/test-idp.ts';
import { startLocalAgent } from '../../support/local-agent.ts';

const POLICY = `{
  "groups": { "group:eng": ["idp:engineering"] },
  "acls": [ { "action": "accept", "src": ["group:eng"], "dst": ["group:eng:*"] } ],
}`;

describeWith([hasCommand('chromium')], 'OIDC sign-in in a real browser (Debian chromium)', () => {
  let idp: TestIdp;
  let t: TestServer;
  const profiles: string[] = [];
  const contexts: BrowserContext[] = [];
  let callbackUrl = '';
  const agents: TestAgent[] = [];

  beforeAll(async () => {
    idp = await startTestIdp(
      {
        alice: {
          email: 'alice@example.com',
          email_verified: true,
          name: 'Alice Liddell',
          groups: ['engineering', 'oncall'],
        },
        bob: { email: 'bob@example.com', email_verified: true, name: 'Bob', groups: ['engineering'] },
      },
      () => callbackUrl,
    );
    t = await startTestServer({ oidc: idpConfig(idp, { allowedDomains: ['example.com'] }) });
    callbackUrl = `${t.url}/login/callback`;
    await t.setPolicy(POLICY);
  }, 60_000);
  const apis: LocalApi[] = [];
  afterAll(async () => {
    for (const api of apis) await api.close();
    for (const a of agents) a.stop();
    for (const c of contexts) await c.close();
    await t?.stop();
    await idp?.close();
    for (const p of profiles) rmSync(p, { recursive: true, force: true });
  });

  /** Each person has their own browser: a fresh chromium profile, nothing downloaded, no background traffic. */
  const browserOf = async () => {
    const profile = mkdtempSync(join(tmpdir(), 'trellis-chromium-'));
    profiles.push(profile);
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--no-sandbox',
        '--headless',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    contexts.push(context);
    return context;
  };

  /** The person's part, in their own browser: our hand-off page, the provider's login and consent. */
  const clickThrough = async (url: string, login: string, code?: string) => {
    const page = await (await browserOf()).newPage();
    await page.goto(url);
    // Our hand-off page: accessible, names the device and the code the agent printed.
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    expect(await page.title()).toMatch(/Sign in to connect a device/);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Sign in to connect a device');
    if (code) expect(await page.getByLabel('verification code').textContent()).toBe(code);
    await page.getByRole('link', { name: /Continue to sign in with test-idp/ }).click();
    // The provider's own login page, then its consent page.
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill('correct horse battery staple');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL((u) => u.href.startsWith(callbackUrl));
    expect(await page.title()).toMatch(/Device approved/);
    expect(await page.getByRole('main').textContent()).toContain(`${login}@example.com`);
    await page.close();
  };

  /** Signing in with the control client directly, as the agent does inside. */
  const up = async (hostname: string, login: string) => {
    const agent = new TestAgent(t.url, hostname);
    agents.push(agent);
    const credential = await signInWithOidc({
      control: agent.control,
      hostname,
      present: (prompt) => clickThrough(prompt.url, login, prompt.verificationCode),
    });
    agent.node = await agent.control.register({ wireguardKey: agent.wireguard.publicKey, hostname, credential });
    return agent.connect();
  };

  /** `trellis up --login` end to end: the CLI's sign-in talking to a real agent over its socket. */
  const upWithTheCli = async (hostname: string, login: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-agent-'));
    profiles.push(dir);
    const { api } = await startLocalAgent(dir);
    apis.push(api);
    const printed: string[] = [];
    let person: Promise<void> | undefined;
    const status = await signInThroughAgent(
      new LocalApiClient(join(dir, 'agent.sock')),
      { serverUrl: t.url, hostname, waitMs: 0 },
      {
        write: (text) => printed.push(text),
        open: (url) => {
          const code = /the page shows the code (\S+);/.exec(printed.join(''))?.[1];
          expect(code, 'the CLI prints the verification code').toBeDefined();
          person = clickThrough(url, login, code);
          return true;
        },
      },
    );
    await person;
    return status;
  };

  it("trellis up -> browser sign-in at the provider -> the node is in another agent's map as that user, with the groups stored", async () => {
    const bob = await up('bob-desktop', 'bob');
    const alice = await upWithTheCli('alice-laptop', 'alice');
    expect(alice.self).toMatchObject({ name: 'alice-laptop', user: 'alice@example.com' });
    await bob.until((b) => b.peerNames().includes('alice-laptop'), "alice in bob's map", 10_000);
    const peer = [...bob.map.peers.values()].find((p) => p.name === 'alice-laptop')!;
    expect(peer.user).toBe('alice@example.com');
    const user = (await t.server.store.users.getByEmail('alice@example.com'))!;
    expect(user.groups).toEqual(['engineering', 'oncall']);
    expect(user.displayName).toBe('Alice Liddell');
    // The policy grants by the provider's group: alice and bob see each other (both in idp:engineering).
    const aliceNode = (await t.server.store.nodes.list()).find((n) => n.name === 'alice-laptop')!;
    expect(t.server.engine.visiblePeers(aliceNode.id).map((id) => t.server.engine.node(id)?.record.name)).toContain(
      'bob-desktop',
    );
  }, 60_000);
});
