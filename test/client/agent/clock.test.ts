import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Agent } from '../../../client/agent/agent.ts';
import { Engine } from '../../../client/agent/engine.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

/** The agent takes its wall clock by injection, as the server does; nothing reads Date.now behind it. */
let server: TestServer;
let dir: string;
beforeAll(async () => {
  server = await startTestServer();
  dir = mkdtempSync(join(tmpdir(), 'trellis-clock-'));
});
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('records when the node signed in by the clock it was given', async () => {
  const signedIn = Date.parse('2031-05-04T03:02:01Z');
  const agent = new Agent({
    stateDir: dir,
    iface: 'trclock0',
    listenPort: 41641,
    meshRanges: ['100.64.0.0/10'],
    // Never gets a device: the join is what this test is about, not the first map.
    engine: new Engine({
      iface: 'trclock0',
      meshRanges: ['100.64.0.0/10'],
      openDevice: () => Promise.reject(new Error('no device in this test')),
    }),
    logger: pino({ level: 'silent' }),
    now: () => signedIn,
  });
  await agent.start();
  const key = await server.preAuthKey({ tags: ['tag:ci'] });
  await agent.up({ serverUrl: server.url, credential: { type: 'preauth-key', key }, waitMs: 100 });
  await agent.stop();
  const node = JSON.parse(readFileSync(join(dir, 'node.json'), 'utf8')) as { signedInAt?: number };
  expect(node.signedInAt).toBe(signedIn);
});
