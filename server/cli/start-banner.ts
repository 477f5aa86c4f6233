import { resolve } from 'node:path';
import type { Reachability } from './reachability.ts';

export interface FirstStart {
  reach: Reachability;
  relay: string;
  dataFile: string;
  adminKey: string;
  keyFile: string;
  /** Flags the admin commands need to reach this server and find its key (empty for the defaults). */
  adminFlags: string;
}

/** What `serve` prints on its first start: where it is, the admin key, and how to join a first node. */
export function firstStartBanner(s: FirstStart): string {
  const joinUrl =
    s.reach.kind === 'wildcard'
      ? (s.reach.candidates[0] ?? `http://<this machine's address>:${s.reach.port}`)
      : s.reach.url;
  return [
    '',
    'Trellis is running.',
    `  URL:        ${s.reach.kind === 'wildcard' ? `every address of this machine, port ${s.reach.port} (no publicUrl set)` : s.reach.url}`,
    `  Relay:      ${s.relay}`,
    `  Data:       ${s.dataFile}`,
    `  Admin key:  ${s.adminKey}`,
    `              (shown once; saved to ${s.keyFile} with mode 0600 for the local CLI)`,
    ...reachabilityNote(s.reach).map((l) => `  ${l}`),
    '',
    'Join a first node:',
    `  npx trellis-server users create you@example.com${s.adminFlags}`,
    `  npx trellis-server preauthkeys create --user you@example.com${s.adminFlags}`,
    `  sudo npx trellis up --server ${joinUrl} --auth-key <the key that command printed>`,
    '',
  ].join('\n');
}

/**
 * The admin CLI defaults to http://127.0.0.1:8080 and ./data; a server started elsewhere must say
 * so in the commands it prints, or they fail for a newcomer who copies them.
 */
export function adminFlags(adminUrl: string, dataDir: string, cwd: string): string {
  const server = adminUrl === 'http://127.0.0.1:8080' ? '' : ` --server ${adminUrl}`;
  const dir = resolve(cwd, dataDir) === resolve(cwd, 'data') ? '' : ` --data-dir ${resolve(cwd, dataDir)}`;
  return server + dir;
}

/**
 * What the user must still decide for other machines to join; nothing when the config says it.
 * For a wildcard, printed on every start: sign-in links and the API document use the same URL.
 */
export function reachabilityNote(reach: Reachability): string[] {
  if (reach.kind === 'public') return [];
  if (reach.kind === 'loopback')
    return [
      `Only this machine can join ${reach.url}. For other machines, listen on their network`,
      '(--listen.host 0.0.0.0) and say the URL they use (--public-url http://ADDRESS:PORT).',
    ];
  return [
    'Listening on every address, but no publicUrl says which one nodes and sign-in links should use.',
    reach.candidates.length > 0
      ? `This machine's addresses: ${reach.candidates.join(', ')}.`
      : 'This machine has no address but loopback yet.',
    'Set publicUrl to the one other machines reach (--public-url URL, or TRELLIS_PUBLIC_URL).',
  ];
}
