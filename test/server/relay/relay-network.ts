import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { publicKeyOf } from '../../../client/wireguard/keys.ts';
import { SERVER_KEY_FILE } from '../../../server/relay/server-key.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';

export const keyBytes = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));

/** What the relay's tests start from: a server, two joined and connected nodes, the server's key. */
export async function startRelayNetwork(): Promise<{
  t: TestServer;
  a: TestAgent;
  b: TestAgent;
  serverKey: Uint8Array;
}> {
  const t = await startTestServer();
  const a = new TestAgent(t.url, 'a');
  const b = new TestAgent(t.url, 'b');
  await a.join(await t.preAuthKey());
  await b.join(await t.preAuthKey());
  a.connect();
  b.connect();
  const serverKey = keyBytes(publicKeyOf(readFileSync(join(t.dataDir, SERVER_KEY_FILE), 'utf8').trim()));
  return { t, a, b, serverKey };
}
