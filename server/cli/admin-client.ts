import { readFileSync } from 'node:fs';
import { UsageError, flags } from '../../cli-flags/index.ts';
import { AdminClient, adminTarget, noKeyMessage, type AdminConnectionFlags } from '../../protocol/admin-client.ts';

/** The flags every admin command takes: where the server is, and the key to it. */
export const CONNECTION_FLAGS = flags({
  server: { type: 'string', value: 'URL', help: 'the server (or TRELLIS_SERVER; default http://127.0.0.1:8080)' },
  'api-key': { type: 'string', value: 'KEY', help: 'an admin API key (or TRELLIS_API_KEY, or DIR/admin-api-key)' },
  'data-dir': { type: 'string', value: 'DIR', help: "the server's data directory, to read its admin-api-key" },
});

/** `--json` of the commands that print something. */
export const JSON_FLAG = flags({ json: { type: 'boolean', help: 'print JSON instead of text' } });

/**
 * The admin API client (protocol/admin-client.ts) for the server and key the flags name; a failed
 * call is the server's coded error, which main prints as one line with its code.
 */
export function adminClient(values: AdminConnectionFlags, env: NodeJS.ProcessEnv): AdminClient {
  const target = adminTarget(values, env);
  let key = target.key;
  if (!key) {
    try {
      key = readFileSync(target.keyFile, 'utf8').trim();
    } catch {
      throw new UsageError('cli.missing_flag', noKeyMessage(target.keyFile));
    }
  }
  return new AdminClient(target.url, key);
}
