import { loadServerKey } from '../../../server/relay/server-key.ts';
import { createSqliteStore } from '../../../server/store/sqlite/index.ts';
import { UdpPort } from '../../../server/relay/udp-port.ts';

/**
 * The server's UDP port alone, in a lab namespace, for tests that need a setting the server's
 * config does not expose. Usage: DATA_DIR HOST PORT HANDSHAKES_PER_SECOND NODE_KEY...
 * Each node key is its own node id. Prints `ready`, then its stats as one JSON line every 200 ms.
 */
const [dataDir, host, port, handshakesPerSecond, ...keys] = process.argv.slice(2);

const udp = await UdpPort.bind(
  host!,
  Number(port),
  await loadServerKey(createSqliteStore(':memory:').serverKeys, dataDir!, Date.now()),
);
udp.start({
  directory: {
    nodeForKey: (k) => (keys.includes(k) ? k : undefined),
    wireguardKey: (id) => (keys.includes(id) ? id : undefined),
    visiblePeers: (id) => keys.filter((k) => k !== id),
  },
  observed: (id, endpoint) => process.stdout.write(`${JSON.stringify({ observed: id, endpoint })}\n`),
  now: Date.now,
  handshakesPerSecond: Number(handshakesPerSecond),
});
process.stdout.write('ready\n');
setInterval(() => process.stdout.write(`${JSON.stringify(udp.stats)}\n`), 200);
process.on('SIGTERM', () => void udp.close().then(() => process.exit(0)));
