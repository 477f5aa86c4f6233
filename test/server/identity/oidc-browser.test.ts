import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signInWithOidc } from '../../../client/control/oidc-login.ts';
import { describeWith, hasCommand } from '../../support/prerequisites.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';
import { idpConfig, startTestIdp, type TestIdp } from '../../support/test-idp.ts';

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
    idp = await startTestIdp({
      alice: { email: 'alice@example.com', email_verified: true, name: 'Alice Liddell', groups: ['engineering', 'oncall'] },
      bob: { email: 'bob@example.com', email_verified: true, name: 'Bob', groups: ['engineering'] },
    }, () => callbackUrl);
    t = await startTestServer({ oidc: idpConfig(idp, { allowedDomains: ['example.com'] }) });
    callbackUrl = `${t.url}/login/callback`;
    await t.setPolicy(POLICY);
  }, 60_000);
  afterAll(async () => {
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
      args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    contexts.push(context);
    return context;
  };

  /** `trellis up` as the agent engineer will call it: sign in, register, open the map stream. */
  const up = async (hostname: string, login: string) => {
    const agent = new TestAgent(t.url, hostname);
    agents.push(agent);
    const credential = await signInWithOidc({
      control: agent.control, hostname,
      present: async (prompt) => {
        const page = await (await browserOf()).newPage();
        await page.goto(prompt.url);
        // Our hand-off page: accessible, names the device and the code the agent printed.
        expect(await page.getAttribute('html', 'lang')).toBe('en');
        expect(await page.title()).toMatch(/Sign in to connect a device/);
        await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Sign in to connect a device');
        expect(await page.getByLabel('verification code').textContent()).toBe(prompt.verificationCode);
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
      },
    });
    agent.node = await agent.control.register({ wireguardKey: agent.wireguard.publicKey, hostname, credential });
    return agent.connect();
  };

  it('trellis up -> browser sign-in at the provider -> the node is in another agent\'s map as that user, with the groups stored', async () => {
    const bob = await up('bob-desktop', 'bob');
    const alice = await up('alice-laptop', 'alice');
    expect(alice.node!.user).toBe('alice@example.com');
    await bob.until((b) => b.peerNames().includes('alice-laptop'), 'alice in bob\'s map', 10_000);
    const peer = [...bob.map.peers.values()].find((p) => p.name === 'alice-laptop')!;
    expect(peer.user).toBe('alice@example.com');
    const user = (await t.server.store.users.getByEmail('alice@example.com'))!;
    expect(user.groups).toEqual(['engineering', 'oncall']);
    expect(user.displayName).toBe('Alice Liddell');
    // The policy grants by the provider's group: alice reaches bob because both are in idp:engineering.
    await alice.until((a) => a.peerNames().includes('bob-desktop'), 'bob in alice\'s map', 10_000);
  }, 60_000);
});
