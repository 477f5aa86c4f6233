import { appendFileSync, readFileSync } from 'node:fs';
import { KubeApiServer, type KubeApiServerOptions } from './server.ts';

/**
 * The stand-in as a process: `node --import tsx main.ts CONFIG.json`, where the file holds
 * { host, port, certFile, keyFile, accounts, rules, seenFile? }. Each decided request is
 * appended to `seenFile` as one JSON line, so a test outside the process's network namespace
 * can read what the API server saw.
 */
const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Omit<KubeApiServerOptions, 'cert' | 'key'> & {
  certFile: string;
  keyFile: string;
  seenFile?: string;
};
const seenFile = config.seenFile;
const api = await KubeApiServer.start({
  ...config,
  cert: readFileSync(config.certFile, 'utf8'),
  key: readFileSync(config.keyFile, 'utf8'),
  ...(seenFile && { onSeen: (seen) => appendFileSync(seenFile, `${JSON.stringify(seen)}\n`) }),
});
process.stdout.write(`stand-in API server ready on ${api.url}\n`);
const stop = () => void api.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
