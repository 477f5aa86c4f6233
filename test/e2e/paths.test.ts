import { afterAll, beforeAll, expect, it } from 'vitest';
import type { PeerStatus } from '../../client/agent/local-api/messages.ts';
import { describeWith, hasCommand, isRoot } from '../support/prerequisites.ts';
import type { Host } from './harness/lab.ts';
import { Lab } from './harness/lab.ts';
import { addNat, type Nat } from './harness/nat.ts';
import type { BackgroundProcess } from './harness/process.ts';
import { AgentHost } from './mesh/agent-host.ts';
import { ServerHost } from './mesh/server-host.ts';

/**
 * Direct paths through NATs, with real agents, wireguard-go and iptables NATs in namespaces.
 * Every pair starts on the server's relay (its first packet flows within a round trip to the
 * server) and moves to a direct path when both NATs allow it; each topology prints its time to
 * the first packet and to the direct path. Pairs are kept apart by the policy (one tag each).
 */
const RELAY_PORT = 3478;
const TOPOLOGIES = ['eim', 'sym', 'lan', 'double', 'roam'] as const;
const POLICY = `{
  "tagOwners": { ${TOPOLOGIES.map((t) => `"tag:${t}": []`).join(', ')} },
  "acls": [ ${TOPOLOGIES.map((t) => `{ "action": "accept", "src": ["tag:${t}"], "dst": ["tag:${t}:*"] }`).join(', ')} ],
}`;

describeWith(
  [isRoot(), hasCommand('wireguard-go'), hasCommand('nft', 'nftables')],
  'direct paths through NATs, and the relay where there is none',
  () => {
    let lab: Lab;
    let server: ServerHost;
    const agents: AgentHost[] = [];
    const traffic: BackgroundProcess[] = [];

    beforeAll(async () => {
      lab = await Lab.create();
      server = await ServerHost.start(lab, ['--relay.udpPort', String(RELAY_PORT)]);
      await server.setPolicy(POLICY);
    }, 60_000);
    afterAll(async () => {
      if (process.env.TRELLIS_TEST_LOG) for (const n of agents) console.log(`---- ${n.label}\n${n.output}`);
      for (const t of traffic) await t.stop(1_000).catch(() => undefined);
      await lab?.cleanup();
      server?.dispose();
      for (const n of agents) n.dispose();
    });

    /** Starts agents on both hosts, joins them with one tag, and sends pings from `a` to `b` from then on. */
    async function pair(tag: string, hostA: Host, hostB: Host) {
      const [a, b] = await Promise.all([AgentHost.startOn(hostA), AgentHost.startOn(hostB)]);
      agents.push(a, b);
      const key = await server.preAuthKey({ tags: [`tag:${tag}`] });
      const joined = Date.now();
      await Promise.all(
        [a, b].map(async (n) =>
          expect((await n.cli(['up', '--server', server.url, '--auth-key', key, '--hostname', n.label])).exitCode).toBe(
            0,
          ),
        ),
      );
      const ipOf = async (n: AgentHost) => (await n.status()).self!.ipv4;
      const [ipA, ipB] = [await ipOf(a), await ipOf(b)];
      await a.until((s) => s.peers.some((p) => p.name === b.label), `${a.label} sees ${b.label}`);
      expect(await a.host.pingUntil(ipB, 10_000), `${a.label} -> ${b.label}`).toBe(true);
      const firstPacketMs = Date.now() - joined;
      traffic.push(a.host.spawn('ping', ['-n', '-q', '-i', '0.2', ipB]));
      const peerOf = async (n: AgentHost, other: AgentHost): Promise<PeerStatus | undefined> =>
        (await n.status()).peers.find((p) => p.name === other.label);
      return { a, b, ipA, ipB, joined, firstPacketMs, peerOf };
    }

    async function directWithin(a: AgentHost, b: AgentHost, ms: number): Promise<PeerStatus> {
      const s = await a.until(
        (x) => x.peers.find((p) => p.name === b.label)?.path === 'direct',
        `${a.label} on a direct path to ${b.label}`,
        ms,
      );
      return s.peers.find((p) => p.name === b.label)!;
    }

    function report(topology: string, t: { firstPacketMs: number; directMs?: number; path: string }): void {
      console.log(
        `paths ${topology}: first packet ${t.firstPacketMs} ms after joining, ${t.directMs === undefined ? `stays on the ${t.path}` : `direct after ${t.directMs} ms`}`,
      );
    }

    it('(a) both behind endpoint-independent NATs: relay first, then direct to the public mappings', async () => {
      const [na, nb] = [await addNat(lab, 'eimA'), await addNat(lab, 'eimB')];
      const p = await pair('eim', await na.addHost('ea'), await nb.addHost('eb'));
      const direct = await directWithin(p.a, p.b, 15_000);
      const directMs = Date.now() - p.joined;
      expect(direct.endpoint).toMatch(new RegExp(`^${escape(nb.publicAddress)}:\\d+$`));
      await p.b.until((s) => s.peers.find((x) => x.name === p.a.label)?.path === 'direct', 'the other side direct too');
      expect(await p.b.host.pingUntil(p.ipA, 3_000), `${p.b.label} -> ${p.a.label}, directly`).toBe(true);
      // Measured once the path settled (both sides direct), not in the middle of the change.
      const measured = await p.a.until(
        (s) => s.peers.some((x) => x.name === p.b.label && x.latencyMs !== undefined),
        'a latency',
      );
      expect(measured.peers.find((x) => x.name === p.b.label)?.latencyMs).toBeGreaterThan(0);
      const ping = await p.a.cli(['ping', p.b.label, '--count', '1']);
      expect(ping.stdout).toMatch(
        new RegExp(`^pong from eb .* in [\\d.]+ ms, direct ${escape(nb.publicAddress)}:\\d+$`, 'm'),
      );
      report('(a) endpoint-independent NATs', { firstPacketMs: p.firstPacketMs, directMs, path: 'direct' });
    }, 60_000);

    it('(b) one behind an endpoint-dependent NAT: traffic both ways through the relay', async () => {
      const [na, nb] = [await addNat(lab, 'symA'), await addNat(lab, 'symB', { mapping: 'symmetric' })];
      const p = await pair('sym', await na.addHost('sa'), await nb.addHost('sb'));
      expect(await p.b.host.pingUntil(p.ipA, 5_000), 'back the other way').toBe(true);
      // A trial runs (and fails: the symmetric NAT maps the peer-bound flow to a fresh port); the pair stays relayed.
      await new Promise((r) => setTimeout(r, 4_000));
      expect((await p.peerOf(p.a, p.b))?.path).toBe('relay');
      expect((await p.a.cli(['ping', p.b.label, '--count', '1'])).stdout).toMatch(
        / ms, through the relay 10\.77\.0\.\d+:3478$/m,
      );
      report('(b) one endpoint-dependent NAT', { firstPacketMs: p.firstPacketMs, path: 'relay' });
    }, 60_000);

    it('(c) both behind the same NAT: direct over their LAN addresses', async () => {
      const nat = await addNat(lab, 'lanN');
      const [ha, hb] = [await nat.addHost('la'), await nat.addHost('lb')];
      const p = await pair('lan', ha, hb);
      const direct = await directWithin(p.a, p.b, 15_000);
      expect(direct.endpoint).toBe(`${hb.address}:41641`);
      report('(c) same NAT', { firstPacketMs: p.firstPacketMs, directMs: Date.now() - p.joined, path: 'direct' });
    }, 60_000);

    it('(d) behind two NATs in a row: traffic, and a direct path through both', async () => {
      const outer = await addNat(lab, 'dblO');
      const inner = await addNat(lab, 'dblI', { behind: outer });
      const other = await addNat(lab, 'dblB');
      const p = await pair('double', await inner.addHost('da'), await other.addHost('db'));
      expect(await p.b.host.pingUntil(p.ipA, 5_000)).toBe(true);
      const direct = await directWithin(p.a, p.b, 15_000);
      expect(direct.endpoint).toMatch(new RegExp(`^${escape(other.publicAddress)}:\\d+$`));
      report('(d) double NAT', { firstPacketMs: p.firstPacketMs, directMs: Date.now() - p.joined, path: 'direct' });
    }, 60_000);

    it('(f) a node whose address changes mid-transfer: traffic resumes, and goes direct again', async () => {
      const [na, nb] = [await addNat(lab, 'roamA'), await addNat(lab, 'roamB')];
      const mover = await na.addHost('ra');
      const p = await pair('roam', mover, await nb.addHost('rb'));
      await directWithin(p.a, p.b, 15_000);
      const moved = await move(mover, na);
      const started = Date.now();
      const resumed = await p.a.host.pingUntil(p.ipB, 30_000);
      if (!resumed && process.env.TRELLIS_TEST_LOG) {
        console.log(JSON.stringify(await p.a.status(), null, 1), JSON.stringify(await p.b.status(), null, 1));
        console.log(
          (
            await server.host.exec('node', [
              '-e',
              `fetch('${server.url}/metrics').then(r=>r.text()).then(t=>console.log(t.split('\\n').filter(l=>l.includes('relay')).join('\\n')))`,
            ])
          ).stdout,
        );
      }
      expect(resumed, 'traffic after the move').toBe(true);
      const resumedMs = Date.now() - started;
      const direct = await directWithin(p.a, p.b, 30_000);
      console.log(
        `paths (f) roaming: ${mover.address} -> ${moved}: traffic resumed after ${resumedMs} ms, direct again after ${Date.now() - started} ms (${direct.endpoint})`,
      );
    }, 120_000);
  },
);

/** The host takes another address on its segment, as a laptop does on another network; the old one is gone. */
async function move(host: Host, nat: Nat): Promise<string> {
  const fresh = `${nat.inside.net}.${200 + (nat.inside.nextHost++ % 50)}`;
  // The new address must outlive the old one, which is the primary: promote it, keep the route.
  await host.exec('sysctl', ['-q', '-w', 'net.ipv4.conf.eth0.promote_secondaries=1']);
  await host.exec('ip', ['addr', 'add', `${fresh}/24`, 'dev', 'eth0']);
  await host.exec('ip', ['addr', 'del', `${host.address}/24`, 'dev', 'eth0']);
  await host.exec('ip', ['route', 'replace', 'default', 'via', nat.gateway]);
  return fresh;
}

function escape(s: string): string {
  return s.replace(/\./g, '\\.');
}
