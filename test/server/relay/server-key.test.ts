import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyPair, publicKeyOf } from '../../../client/wireguard/keys.ts';
import { RelayError } from '../../../server/relay/errors.ts';
import { loadServerKey, SERVER_KEY_FILE } from '../../../server/relay/server-key.ts';
import { createSqliteStore } from '../../../server/store/sqlite/index.ts';
import type { Store } from '../../../server/store/store.ts';

const T0 = 1_800_000_000_000;

describe("the server's WireGuard key: in the store, mirrored in the data directory", () => {
  const dirs: string[] = [];
  const stores: Store[] = [];
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'trellis-relay-key-'));
    dirs.push(d);
    return d;
  };
  const store = () => {
    const s = createSqliteStore(':memory:');
    stores.push(s);
    return s;
  };
  afterEach(async () => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    for (const s of stores.splice(0)) await s.close();
  });

  it('is made once, readable by the owner only, and the same after a restart', async () => {
    const d = dir();
    const s = store();
    const first = await loadServerKey(s.serverKeys, d, T0);
    const path = join(d, SERVER_KEY_FILE);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const again = await loadServerKey(s.serverKeys, d, T0 + 1);
    expect(again.publicKeyBase64).toBe(first.publicKeyBase64);
    // The file holds the private key in the form `wg` uses; the public key derives from it.
    expect(publicKeyOf(readFileSync(path, 'utf8').trim())).toBe(first.publicKeyBase64);
  });

  it('is the same for every replica on one store, whatever their data directories hold', async () => {
    const s = store();
    const a = await loadServerKey(s.serverKeys, dir(), T0);
    // Another replica whose data directory has a key of its own: the store's wins, and its file follows.
    const d = dir();
    writeFileSync(join(d, SERVER_KEY_FILE), `${generateKeyPair().privateKey}\n`, { mode: 0o600 });
    const b = await loadServerKey(s.serverKeys, d, T0 + 1);
    expect(b.publicKeyBase64).toBe(a.publicKeyBase64);
    expect(publicKeyOf(readFileSync(join(d, SERVER_KEY_FILE), 'utf8').trim())).toBe(a.publicKeyBase64);
  });

  it("keeps a deployment's existing key when the store has none yet, so its agents' relay peer stays", async () => {
    const d = dir();
    const existing = generateKeyPair().privateKey;
    writeFileSync(join(d, SERVER_KEY_FILE), `${existing}\n`, { mode: 0o600 });
    const key = await loadServerKey(store().serverKeys, d, T0);
    expect(key.publicKeyBase64).toBe(publicKeyOf(existing));
  });

  it('refuses a key file that group or others can read, and says how to fix it', async () => {
    const d = dir();
    const s = store();
    await loadServerKey(s.serverKeys, d, T0);
    chmodSync(join(d, SERVER_KEY_FILE), 0o644);
    await expect(loadServerKey(s.serverKeys, d, T0)).rejects.toThrow(
      expect.objectContaining({ code: 'relay.key_exposed', message: expect.stringContaining('chmod 600') }),
    );
  });

  it('refuses a file that does not hold a key, without echoing its content', async () => {
    const d = dir();
    writeFileSync(join(d, SERVER_KEY_FILE), 'not-a-key-secret-stuff\n', { mode: 0o600 });
    const err = await loadServerKey(store().serverKeys, d, T0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RelayError);
    expect((err as RelayError).code).toBe('relay.key_malformed');
    expect((err as RelayError).message).not.toContain('secret-stuff');
  });
});
