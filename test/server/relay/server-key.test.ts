import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { publicKeyOf } from '../../../client/wireguard/keys.ts';
import { RelayError } from '../../../server/relay/errors.ts';
import { loadOrCreateServerKey, SERVER_KEY_FILE } from '../../../server/relay/server-key.ts';

describe("the server's WireGuard key in the data directory", () => {
  const dirs: string[] = [];
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'trellis-relay-key-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('is made once, readable by the owner only, and the same after a restart', () => {
    const d = dir();
    const first = loadOrCreateServerKey(d);
    const path = join(d, SERVER_KEY_FILE);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const again = loadOrCreateServerKey(d);
    expect(again.publicKeyBase64).toBe(first.publicKeyBase64);
    // The file holds the private key in the form `wg` uses; the public key derives from it.
    expect(publicKeyOf(readFileSync(path, 'utf8').trim())).toBe(first.publicKeyBase64);
  });

  it('refuses a key file that group or others can read, and says how to fix it', () => {
    const d = dir();
    loadOrCreateServerKey(d);
    chmodSync(join(d, SERVER_KEY_FILE), 0o644);
    expect(() => loadOrCreateServerKey(d)).toThrow(
      expect.objectContaining({ code: 'relay.key_exposed', message: expect.stringContaining('chmod 600') }),
    );
  });

  it('refuses a file that does not hold a key, without echoing its content', () => {
    const d = dir();
    writeFileSync(join(d, SERVER_KEY_FILE), 'not-a-key-secret-stuff\n', { mode: 0o600 });
    let err: unknown;
    try {
      loadOrCreateServerKey(d);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RelayError);
    expect((err as RelayError).code).toBe('relay.key_malformed');
    expect((err as RelayError).message).not.toContain('secret-stuff');
  });
});
