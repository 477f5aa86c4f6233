/**
 * Join load for the fault tests, run inside a lab namespace: registers simulated nodes one after
 * another (a few in parallel) through the given server URL until SIGTERM, and appends one line
 * per answer to the given file, so the test knows exactly which joins were acknowledged:
 *   joined <node id> <hostname>
 *   refused <http status> <code> <hostname> <message>
 *
 *   node --import tsx join-load.ts <server url> <pre-auth key> <parallel> <file>
 */
import { appendFileSync } from 'node:fs';
import { ControlClient } from '../../../client/control/control-client.ts';
import { ControlError } from '../../../client/control/control-error.ts';
import { generateMachineKey } from '../../../client/control/machine-key.ts';
import { generateKeyPair } from '../../../client/wireguard/keys.ts';

const [url, authKey, parallel = '2', file] = process.argv.slice(2);
const record = (line: string) => appendFileSync(file!, `${line}\n`);
let stopping = false;
let n = 0;
process.on('SIGTERM', () => (stopping = true));

async function worker(w: number): Promise<void> {
  while (!stopping) {
    const hostname = `load-${w}-${n++}`;
    const client = new ControlClient(url!, generateMachineKey().privateKey);
    try {
      const node = await client.register({
        wireguardKey: generateKeyPair().publicKey,
        hostname,
        credential: { type: 'preauth-key', key: authKey! },
      });
      record(`joined ${node.id} ${hostname}`);
    } catch (err) {
      const code = err instanceof ControlError ? err.code : 'network';
      const status = err instanceof ControlError ? (err.status ?? 0) : 0;
      record(`refused ${status} ${code} ${hostname} ${(err as Error).message.replace(/\s+/g, ' ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

console.log('ready');
await Promise.all(Array.from({ length: Number(parallel) }, (_, w) => worker(w)));
process.exit(0);
