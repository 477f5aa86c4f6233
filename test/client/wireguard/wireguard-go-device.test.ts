import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { run } from '../../../client/system/run.ts';
import { UapiErrnoError } from '../../../client/wireguard/errors.ts';
import { generateKeyPair } from '../../../client/wireguard/keys.ts';
import type { SupervisorEvent } from '../../../client/wireguard/supervisor.ts';
import { uapiSocketPath } from '../../../client/wireguard/uapi-client.ts';
import { WireGuardGoDevice } from '../../../client/wireguard/wireguard-go-device.ts';
import { describeWith, hasCommand, isRoot } from '../../support/prerequisites.ts';
import { Lab } from '../../e2e/harness/lab.ts';
import { deviceCases, until } from './device.case.ts';

const prereqs = [isRoot(), hasCommand('wireguard-go')];

deviceCases('wireguard-go over UAPI', prereqs, async (netns, iface) => {
  const device = await WireGuardGoDevice.start({ iface, netns });
  return { device, close: () => device.close() };
});

describeWith(prereqs, 'a supervised wireguard-go device', () => {
  let lab: Lab;
  let netns: string;
  const opened: WireGuardGoDevice[] = [];
  const open = async (short: string, onEvent?: (e: SupervisorEvent | { type: string }) => void) => {
    const d = await WireGuardGoDevice.start({
      iface: lab.uniqueName(short),
      netns,
      restartBackoffMs: 50,
      ...(onEvent && { onEvent }),
    });
    opened.push(d);
    return d;
  };
  const me = generateKeyPair();
  const p1 = generateKeyPair().publicKey;

  beforeAll(async () => {
    lab = await Lab.create();
    netns = (await lab.addHost('wg')).netns; // on the lab segment, so peer endpoints are routable
  });
  afterAll(async () => {
    await Promise.allSettled(opened.map((d) => d.close()));
    await lab?.cleanup();
  });

  it('starts wireguard-go in the namespace and answers on its UAPI socket', async () => {
    const dev = await open('a');
    const { stdout } = await run('ip', ['-n', netns, '-json', 'link', 'show', dev.iface]);
    expect(JSON.parse(stdout)[0].ifname).toBe(dev.iface);
    await dev.configure({ privateKey: me.privateKey, listenPort: 51820 });
    expect(await dev.state()).toEqual({ publicKey: me.publicKey, listenPort: 51820, fwmark: 0, peers: [] });
  });

  it('turns a refused request into a typed error with the (negative) errno', async () => {
    const a = await open('c');
    const b = await open('d');
    await a.configure({ privateKey: me.privateKey, listenPort: 40001 });
    await b.configure({ privateKey: generateKeyPair().privateKey });
    const err = await b.configure({ privateKey: me.privateKey, listenPort: 40001 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UapiErrnoError);
    expect(err).toMatchObject({ code: 'wireguard.uapi_errno', errno: -98, operation: 'set', retryable: false });
    expect((err as Error).message).toContain(b.iface);
  });

  it('restarts wireguard-go when it dies and puts the configuration back', async () => {
    const events: string[] = [];
    const dev = await open('e', (e) => events.push(e.type));
    await dev.configure({ privateKey: me.privateKey, listenPort: 51999 });
    await dev.applyPeers([{ publicKey: p1, allowedIPs: ['100.64.9.2/32'] }]);
    const firstPid = dev.pid!;
    process.kill(firstPid, 'SIGKILL'); // the process this test started

    await until(() => events.includes('restarted'));
    expect(events).toEqual(['started', 'exited', 'restarted']);
    expect(dev.pid).not.toBe(firstPid);
    const state = await dev.state();
    expect(state).toMatchObject({ publicKey: me.publicKey, listenPort: 51999 });
    expect(state.peers.map((p) => p.publicKey)).toEqual([p1]);
  });

  it('gives up after too many crashes in a short time, and says so', async () => {
    const events: string[] = [];
    const dev = await WireGuardGoDevice.start({
      iface: lab.uniqueName('h'),
      netns,
      maxRestarts: 1,
      restartBackoffMs: 20,
      onEvent: (e) => events.push(e.type === 'exited' ? `exited(restart=${e.willRestart})` : e.type),
    });
    opened.push(dev);
    process.kill(dev.pid!, 'SIGKILL');
    await until(() => events.includes('restarted'));
    process.kill(dev.pid!, 'SIGKILL');
    await until(() => events.includes('gave_up'));
    expect(events).toEqual(['started', 'exited(restart=true)', 'restarted', 'exited(restart=false)', 'gave_up']);
    await expect(dev.state()).rejects.toMatchObject({ code: 'wireguard.uapi_unavailable' });
  });

  it('takes over a wireguard-go left running (by a previous agent) without disturbing its tunnels', async () => {
    const first = await WireGuardGoDevice.start({ iface: lab.uniqueName('i'), netns, maxRestarts: 0 });
    opened.push(first);
    await first.configure({ privateKey: me.privateKey, listenPort: 51700 });
    const peers = [{ publicKey: p1, endpoint: '10.77.0.99:51820', allowedIPs: ['100.64.9.2/32'] }];
    await first.applyPeers(peers);
    await run('ip', ['-n', netns, 'link', 'set', first.iface, 'up']);
    await run('ip', ['-n', netns, 'route', 'replace', '100.64.9.2/32', 'dev', first.iface]);
    await run('ping', ['-c', '1', '-W', '1', '100.64.9.2'], { netns }).catch(() => undefined);
    const before = (await first.state()).peers[0]!;
    expect(before.txBytes).toBeGreaterThan(0);

    const events: string[] = [];
    const second = await WireGuardGoDevice.start({
      iface: first.iface,
      netns,
      adoptExisting: true,
      watchIntervalMs: 50,
      onEvent: (e) => events.push(e.type),
    });
    opened.push(second);
    expect([second.adopted, second.pid, events]).toEqual([true, undefined, ['adopted']]);
    await second.configure({ privateKey: me.privateKey, listenPort: 51700 });
    expect(await second.applyPeers(peers)).toEqual({ added: [], updated: [], removed: [] });
    expect((await second.state()).peers[0]!.txBytes).toBeGreaterThanOrEqual(before.txBytes);

    // The adopted process dies: the adopter notices, starts its own and restores the configuration.
    process.kill(first.pid!, 'SIGKILL');
    await until(() => events.includes('restarted'));
    expect(events).toEqual(['adopted', 'exited', 'restarted']);
    expect(second.adopted).toBe(false);
    const state = await second.state();
    expect(state).toMatchObject({ publicKey: me.publicKey, listenPort: 51700 });
    expect(state.peers.map((p) => p.publicKey)).toEqual([p1]);
  });

  it('never adopts a device of another network namespace, and says who holds the interface name', async () => {
    // Two agents in two namespaces, one interface name: /var/run/wireguard is shared by both.
    const elsewhere = await lab.addNamespace('wg2');
    const theirs = await WireGuardGoDevice.start({ iface: lab.uniqueName('x'), netns, maxRestarts: 0 });
    opened.push(theirs);
    await theirs.configure({ privateKey: me.privateKey, listenPort: 51600 });
    await theirs.applyPeers([{ publicKey: p1, allowedIPs: ['100.64.9.7/32'] }]);
    const before = await theirs.state();

    for (const adoptExisting of [true, false]) {
      const err = await WireGuardGoDevice.start({ iface: theirs.iface, netns: elsewhere, adoptExisting }).catch(
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'wireguard.interface_in_use' });
      const message = (err as Error).message;
      expect(message).toContain(uapiSocketPath(theirs.iface));
      expect(message).toContain(`wireguard-go (pid ${theirs.pid}) in network namespace "${netns}"`);
      expect(message).toContain(`not from network namespace "${elsewhere}"`);
      expect(message).toContain('--interface');
    }
    expect(await theirs.state()).toEqual(before); // its tunnels are untouched
    await expect(run('ip', ['-n', elsewhere, 'link', 'show', theirs.iface])).rejects.toMatchObject({
      code: 'system.command_failed',
    });
  });

  it('with a log file, outlives the agent that started it, and the next agent adopts it with its peers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-wg-'));
    const iface = lab.uniqueName('k');
    const logFile = join(dir, 'wg.log');
    const agent = join(dir, 'agent.mts');
    const deviceModule = new URL('../../../client/wireguard/wireguard-go-device.ts', import.meta.url).pathname;
    writeFileSync(
      agent,
      `import { WireGuardGoDevice } from ${JSON.stringify(deviceModule)};
       const d = await WireGuardGoDevice.start({ iface: ${JSON.stringify(iface)}, netns: ${JSON.stringify(netns)}, logFile: ${JSON.stringify(logFile)}, logLevel: 'verbose' });
       await d.applyPeers([{ publicKey: ${JSON.stringify(p1)}, allowedIPs: ['100.64.9.2/32'] }]);
       console.log(d.pid);
       process.exit(0);`,
    );
    try {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', agent]);
      const pid = Number(stdout.trim());
      // A log line after the agent is gone (the link going up) would kill it if it wrote to a pipe.
      await run('ip', ['-n', netns, 'link', 'set', iface, 'up']);
      await new Promise((r) => setTimeout(r, 300));
      expect(() => process.kill(pid, 0)).not.toThrow();
      expect(readFileSync(logFile, 'utf8')).toMatch(/requested Up/);

      const next = await WireGuardGoDevice.start({ iface, netns, adoptExisting: true });
      opened.push(next);
      expect(next.adopted).toBe(true);
      expect((await next.state()).peers.map((p) => p.publicKey)).toEqual([p1]);
      await next.close();
      await until(() => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops an adopted device by deleting its interface', async () => {
    const firstEvents: string[] = [];
    const first = await WireGuardGoDevice.start({
      iface: lab.uniqueName('j'),
      netns,
      maxRestarts: 0,
      onEvent: (e) => firstEvents.push(e.type),
    });
    opened.push(first);
    const second = await WireGuardGoDevice.start({ iface: first.iface, netns, adoptExisting: true });
    await second.close();
    await until(() => firstEvents.includes('exited'));
    expect(existsSync(uapiSocketPath(first.iface))).toBe(false);
    await expect(run('ip', ['-n', netns, 'link', 'show', first.iface])).rejects.toMatchObject({
      code: 'system.command_failed',
    });
  });

  it('fails to start with a message that says why, and refuses unsafe interface names', async () => {
    const dev = await open('f');
    const err = await WireGuardGoDevice.start({ iface: dev.iface, netns, startTimeoutMs: 3_000 }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'wireguard.start_failed' });
    expect((err as Error).message).toContain(`${dev.iface} in netns ${netns}`);
    expect((await dev.state()).listenPort).toBeGreaterThan(0); // the first one is unharmed
    // An interface of that name without a socket (here: a bridge) makes wireguard-go itself fail.
    const taken = lab.uniqueName('t');
    await run('ip', ['-n', netns, 'link', 'add', taken, 'type', 'bridge']);
    const err2 = await WireGuardGoDevice.start({ iface: taken, netns }).catch((e: unknown) => e);
    expect(err2).toMatchObject({
      code: 'wireguard.start_failed',
      message: expect.stringMatching(/did not start: exited with 1: .*TUN/s),
    });
    await expect(WireGuardGoDevice.start({ iface: 'bad/name', netns })).rejects.toMatchObject({
      code: 'wireguard.invalid_config',
    });
  });

  it('stops cleanly: the interface and the socket are gone, and no restart follows', async () => {
    const events: string[] = [];
    const dev = await open('g', (e) => events.push(e.type));
    await dev.close();
    expect(existsSync(uapiSocketPath(dev.iface))).toBe(false);
    await expect(run('ip', ['-n', netns, 'link', 'show', dev.iface])).rejects.toMatchObject({
      code: 'system.command_failed',
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(events).toEqual(['started']);
    await expect(dev.state()).rejects.toMatchObject({ code: 'wireguard.uapi_unavailable', retryable: true });
  });
});
