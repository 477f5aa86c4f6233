import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../server/config/errors.ts';
import { loadConfig, type ConfigSources } from '../../../server/config/load.ts';
import { openStore } from '../../../server/store/open-store.ts';

function refusal(sources: ConfigSources): ConfigError {
  try {
    loadConfig(sources);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected loadConfig to refuse the configuration');
}

describe('store configuration', () => {
  it('is SQLite in the data directory unless told otherwise', () => {
    expect(loadConfig({}).store).toEqual({
      driver: 'sqlite',
      tls: { mode: 'disable' },
      poolSize: 10,
      connectTimeoutMs: 5_000,
    });
  });

  it('takes PostgreSQL with a URL, TLS and pool size from flags or the environment', () => {
    const c = loadConfig({
      env: { TRELLIS_STORE_DRIVER: 'postgres', TRELLIS_STORE_URL: 'postgresql://t@db.internal/trellis' },
      flags: { 'store.poolSize': '25', 'store.tls.mode': 'verify-full', 'store.tls.ca': '/etc/trellis/db-ca.pem' },
    });
    expect(c.store).toEqual({
      driver: 'postgres',
      url: 'postgresql://t@db.internal/trellis',
      tls: { mode: 'verify-full', ca: '/etc/trellis/db-ca.pem' },
      poolSize: 25,
      connectTimeoutMs: 5_000,
    });
  });

  it('takes PostgreSQL without a URL: the libpq environment variables say where', () => {
    expect(loadConfig({ flags: { 'store.driver': 'postgres' } }).store.url).toBeUndefined();
  });

  it('refuses what cannot work, naming the key', () => {
    const cases: Array<[ConfigSources, RegExp]> = [
      [{ flags: { 'store.driver': 'mysql' } }, /store\.driver/],
      [{ flags: { 'store.driver': 'postgres', 'store.url': 'mysql://x' } }, /store\.url.*postgresql:\/\//],
      [
        { flags: { 'store.driver': 'postgres', 'store.url': 'postgresql://x/db?sslmode=disable' } },
        /store\.url.*store\.tls\.mode/,
      ],
      [{ flags: { 'store.url': 'postgresql://x/db' } }, /store\.url.*store\.driver/],
      [{ flags: { 'store.tls.mode': 'require' } }, /store\.tls.*store\.driver/],
      [{ flags: { 'store.driver': 'postgres', 'store.tls.ca': '/ca.pem' } }, /store\.tls\.ca.*verify-full/],
      [{ flags: { 'store.driver': 'postgres', 'store.poolSize': '0' } }, /store\.poolSize/],
      [{ flags: { 'store.driver': 'postgres', 'store.tls.mode': 'prefer' } }, /store\.tls\.mode/],
    ];
    for (const [sources, message] of cases) {
      const err = refusal(sources);
      expect(err.code).toBe('config.invalid');
      expect(err.message).toMatch(message);
    }
  });

  it('refuses a CA file it cannot read before it connects, naming the key', async () => {
    const config = loadConfig({
      flags: { 'store.driver': 'postgres', 'store.tls.mode': 'verify-full', 'store.tls.ca': '/nonexistent/ca.pem' },
    });
    await expect(openStore(config)).rejects.toMatchObject({ code: 'config.invalid', message: /store\.tls\.ca/ });
  });
});
