import { ControlClient } from '../../../client/control/control-client.ts';
import { generateMachineKey } from '../../../client/control/machine-key.ts';
import { MapStream } from '../../../client/control/map-stream.ts';
import { generateKeyPair } from '../../../client/wireguard/keys.ts';

/**
 * Run inside the server's lab namespace (the test process cannot reach it by IP):
 *   join  URL AUTHKEY HOSTNAME WG_PUBLIC_KEY   registers a node; prints its SelfNode as JSON
 *   watch URL AUTHKEY TIMEOUT_MS NAME...       joins as an observer and prints, as JSON, each
 *                                              named peer's `observedEndpoint` once all have one
 */
const [mode, url, authKey, ...rest] = process.argv.slice(2);

async function main(): Promise<void> {
  const control = new ControlClient(url!, generateMachineKey().privateKey);
  if (mode === 'join') {
    const [hostname, wireguardKey] = rest;
    const node = await control.register({
      wireguardKey: wireguardKey!,
      hostname: hostname!,
      credential: { type: 'preauth-key', key: authKey! },
    });
    process.stdout.write(JSON.stringify(node));
    return;
  }
  const [timeoutMs, ...names] = rest;
  await control.register({
    wireguardKey: generateKeyPair().publicKey,
    hostname: 'observer',
    credential: { type: 'preauth-key', key: authKey! },
  });
  const result = await new Promise<Record<string, string>>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no observed endpoint for all of ${names.join(', ')} within ${timeoutMs} ms`)),
      Number(timeoutMs),
    );
    const stream = new MapStream(control, {
      onMap: (state) => {
        const found = Object.fromEntries(
          [...state.peers.values()].filter((p) => p.observedEndpoint).map((p) => [p.name, p.observedEndpoint!]),
        );
        if (names.every((n) => found[n])) {
          clearTimeout(timer);
          stream.stop();
          resolve(found);
        }
      },
    });
    stream.start();
  });
  process.stdout.write(JSON.stringify(result));
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  },
);
