import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config/load.ts';

describe('deploy/ files', () => {
  it('the example server config is valid and means what it says', () => {
    const config = loadConfig({ file: 'deploy/server.yaml.example', env: {} });
    expect(config.listen).toEqual({
      host: '0.0.0.0',
      port: 8080,
      trustProxy: false,
      proxyProtocol: { from: [], headerTimeoutMs: 3000 },
    });
    expect(config.network.domain).toBe('mesh.example.internal');
  });

  it('the example PostgreSQL config is valid: a replica on a verified TLS connection', () => {
    const config = loadConfig({ file: 'deploy/server-postgres.yaml.example', env: {} });
    expect(config.store).toEqual({
      driver: 'postgres',
      url: 'postgresql://trellis@db.internal:5432/trellis',
      tls: { mode: 'verify-full', ca: '/etc/trellis/db-ca.pem' },
      poolSize: 10,
      connectTimeoutMs: 5_000,
    });
  });

  it('the systemd unit runs the server with that config and a writable state directory', () => {
    const unit = readFileSync('deploy/systemd/trellis-server.service', 'utf8');
    expect(unit).toMatch(/^ExecStart=.*bin\/trellis-server\.js serve --config \/etc\/trellis\/server\.yaml$/m);
    expect(unit).toMatch(/^ReadWritePaths=\/var\/lib\/trellis$/m);
  });
});
