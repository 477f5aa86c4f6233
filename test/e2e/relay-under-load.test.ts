import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { publicKeyOf } from '../../client/wireguard/keys.ts';
import { SERVER_KEY_FILE } from '../../server/relay/server-key.ts';
import { describeWith, hasCommand, isRoot } from '../support/prerequisites.ts';
import { startDataplaneNode, WG_PORT, type DataplaneNode } from './harness/dataplane-node.ts';
import { Lab, type Host } from './harness/lab.ts';
import type { BackgroundProcess } from './harness/process.ts';
import { REPO_ROOT } from './mesh/repo.ts';

/**
 * The server's UDP port under load, against real wireguard-go: with a handshake budget of zero
 * every initiation is answered by a cookie reply, and wireguard-go's retry must carry a valid
 * mac2 for the handshake to complete. Without NAT, the address the reflector records is the
 * node's own.
 */
const SCRIPT = join(REPO_ROOT, 'test/e2e/relay/udp-port-script.ts');
const PORT = 3478;

describeWith([isRoot(), hasCommand('wireguard-go')], "the server's UDP port under load, with wireguard-go", () => {
  let lab: Lab;
  let srv: Host;
  let node: DataplaneNode;
  let port: BackgroundProcess;
  let dataDir: string;

  beforeAll(async () => {
    lab = await Lab.create();
    srv = await lab.addHost('srv');
    node = await startDataplaneNode(await lab.addHost('n'), 1);
    dataDir = mkdtempSync(join(tmpdir(), 'trellis-relay-load-'));
    port = srv.spawn('node', ['--import', 'tsx', SCRIPT, dataDir, srv.address, String(PORT), '0', node.keys.publicKey]);
    await port.waitFor(/^ready$/m, 15_000);
  }, 60_000);
  afterAll(async () => {
    await node?.close();
    await lab?.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers with cookie replies; wireguard-go retries with mac2 and the handshake completes', async () => {
    const serverKey = publicKeyOf(readFileSync(join(dataDir, SERVER_KEY_FILE), 'utf8').trim());
    await node.device.applyPeers([
      { publicKey: serverKey, endpoint: `${srv.address}:${PORT}`, allowedIPs: [], persistentKeepalive: 1 },
    ]);
    const deadline = Date.now() + 20_000;
    let peer = (await node.device.state()).peers[0];
    while (!peer?.lastHandshake && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      peer = (await node.device.state()).peers[0];
    }
    expect(peer?.lastHandshake, `handshake under load; server said: ${port.output.slice(-300)}`).toBeInstanceOf(Date);
    await new Promise((r) => setTimeout(r, 500));
    const stats = port.output
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{"sessions"'))
      .map((l) => JSON.parse(l) as { cookieReplies: number; handshakes: number });
    const last = stats.at(-1)!;
    expect(last.cookieReplies).toBeGreaterThanOrEqual(1);
    expect(last.handshakes).toBeGreaterThanOrEqual(1);
  });

  it("records the node's own address and WireGuard port as its observed endpoint", async () => {
    await port.waitFor(/"observed"/, 5_000);
    const line = port.output.split('\n').find((l) => l.includes('"observed"'))!;
    expect(JSON.parse(line)).toEqual({ observed: node.keys.publicKey, endpoint: `${node.host.address}:${WG_PORT}` });
  });
});
