import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG_KEYS, loadConfig, type ConfigSources } from '../../../server/config/load.ts';
import { ConfigError } from '../../../server/config/errors.ts';

const NO_PROXY_PROTOCOL = { from: [], headerTimeoutMs: 3000 };

const dir = mkdtempSync(join(tmpdir(), 'trellis-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function yamlFile(text: string): string {
  const file = join(dir, `config-${++n}.yaml`);
  writeFileSync(file, text);
  return file;
}

function failure(sources: ConfigSources): ConfigError {
  try {
    loadConfig(sources);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected loadConfig to refuse the configuration');
}

describe('server configuration', () => {
  it('has a sensible default for everything', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      dataDir: './data',
      listen: { host: '127.0.0.1', port: 8080 },
      network: { ipv4Prefix: '100.64.0.0/10', ipv6Prefix: 'fd7a:115c:a1e0::/48', nameservers: [] },
      limits: { authPerMinute: 120, maxBodyBytes: 1 << 20 },
      log: { level: 'info' },
    });
    expect(c.publicUrl).toBeUndefined();
  });

  it('reads a YAML file', () => {
    const file = yamlFile(
      'dataDir: /var/lib/trellis\nlisten:\n  port: 9000\nnetwork:\n  nameservers: [1.1.1.1, 9.9.9.9]\n',
    );
    const c = loadConfig({ file });
    expect(c.dataDir).toBe('/var/lib/trellis');
    expect(c.listen).toEqual({ host: '127.0.0.1', port: 9000, trustProxy: false, proxyProtocol: NO_PROXY_PROTOCOL });
    expect(c.network.nameservers).toEqual(['1.1.1.1', '9.9.9.9']);
  });

  it('an empty file means all defaults', () => {
    expect(loadConfig({ file: yamlFile('') })).toEqual(loadConfig({}));
  });

  it('takes the environment over the file, and flags over both', () => {
    const file = yamlFile('listen:\n  port: 1000\n  host: 0.0.0.0\n');
    const env = { TRELLIS_LISTEN_PORT: '2000', TRELLIS_LOG_LEVEL: 'debug' };
    expect(loadConfig({ file }).listen.port).toBe(1000);
    expect(loadConfig({ file, env }).listen).toEqual({
      host: '0.0.0.0',
      port: 2000,
      trustProxy: false,
      proxyProtocol: NO_PROXY_PROTOCOL,
    });
    const c = loadConfig({ file, env, flags: { 'listen.port': '3000' } });
    expect(c.listen).toEqual({ host: '0.0.0.0', port: 3000, trustProxy: false, proxyProtocol: NO_PROXY_PROTOCOL });
    expect(c.log.level).toBe('debug');
  });

  it('names environment variables TRELLIS_<SECTION>_<KEY> in snake case', () => {
    const c = loadConfig({
      env: {
        TRELLIS_DATA_DIR: '/srv/trellis',
        TRELLIS_LIMITS_AUTH_PER_MINUTE: '7',
        TRELLIS_NETWORK_IPV4_PREFIX: '10.20.0.0/16',
        TRELLIS_NETWORK_NAMESERVERS: '1.1.1.1, 8.8.8.8',
        TRELLIS_PUBLIC_URL: 'https://vpn.example.com',
        TRELLIS_LISTEN_PROXY_PROTOCOL_FROM: '10.0.0.11, fd00::/64',
      },
    });
    expect(c.listen.proxyProtocol.from).toEqual(['10.0.0.11', 'fd00::/64']);
    expect(c.dataDir).toBe('/srv/trellis');
    expect(c.limits.authPerMinute).toBe(7);
    expect(c.network.ipv4Prefix).toBe('10.20.0.0/16');
    expect(c.network.nameservers).toEqual(['1.1.1.1', '8.8.8.8']);
    expect(c.publicUrl).toBe('https://vpn.example.com');
  });

  it('ignores empty environment variables', () => {
    expect(loadConfig({ env: { TRELLIS_LISTEN_PORT: '' } }).listen.port).toBe(8080);
  });

  it('accepts flags as dotted names or in kebab case', () => {
    expect(loadConfig({ flags: { 'limits.authPerMinute': '3' } }).limits.authPerMinute).toBe(3);
    expect(loadConfig({ flags: { 'limits-auth-per-minute': '4' } }).limits.authPerMinute).toBe(4);
    expect(loadConfig({ flags: { 'data-dir': '/d' } }).dataDir).toBe('/d');
    expect(loadConfig({ flags: { 'relay.udpPort': '-1' } }).relay.udpPort).toBe(-1);
  });

  it('puts the STUN port beside the relay port unless told: +1, pick with a picked relay port, off with the relay', () => {
    expect(loadConfig({}).relay).toEqual({ udpPort: 3478, stunPort: 3479 });
    expect(loadConfig({ flags: { 'relay.udpPort': '4000' } }).relay.stunPort).toBe(4001);
    expect(loadConfig({ flags: { 'relay.udpPort': '0' } }).relay.stunPort).toBe(0);
    expect(loadConfig({ flags: { 'relay.udpPort': '-1' } }).relay.stunPort).toBe(-1);
    expect(loadConfig({ env: { TRELLIS_RELAY_STUN_PORT: '-1' } }).relay).toEqual({ udpPort: 3478, stunPort: -1 });
    expect(
      loadConfig({ flags: { 'relay-stun-port': '5000' }, file: yamlFile('relay:\n  udpPort: 4000\n') }).relay,
    ).toEqual({ udpPort: 4000, stunPort: 5000 });
  });

  it("takes each replica's relay address and the cluster's link secret, refusing a short secret or a name", () => {
    const secret = 'x'.repeat(32);
    expect(
      loadConfig({ env: { TRELLIS_RELAY_LINK_SECRET: secret, TRELLIS_RELAY_PUBLIC_HOST: '192.0.2.7' } }).relay,
    ).toMatchObject({ linkSecret: secret, publicHost: '192.0.2.7' });
    expect(failure({ env: { TRELLIS_RELAY_LINK_SECRET: 'short' } }).message).toContain(
      'relay.linkSecret (from environment variable TRELLIS_RELAY_LINK_SECRET): must be at least 32 characters',
    );
    expect(failure({ flags: { 'relay.publicHost': 'relay.example.com' } }).message).toContain(
      'relay.publicHost (from flag --relay.publicHost): must be an IP address',
    );
  });

  it("refuses a STUN port without the relay, or on the relay's own port", () => {
    expect(failure({ flags: { 'relay.udpPort': '-1', 'relay.stunPort': '3479' } }).message).toContain(
      'relay.stunPort (from flag --relay.stunPort): needs the relay',
    );
    expect(failure({ env: { TRELLIS_RELAY_STUN_PORT: '3478' } }).message).toContain(
      'relay.stunPort (from environment variable TRELLIS_RELAY_STUN_PORT): must differ from relay.udpPort',
    );
    expect(failure({ flags: { 'relay.stunPort': '-2' } }).code).toBe('config.invalid');
  });

  it('lists every key it knows', () => {
    expect(CONFIG_KEYS).toEqual(
      expect.arrayContaining([
        'dataDir',
        'listen.port',
        'listen.host',
        'publicUrl',
        'relay.stunPort',
        'limits.authPerMinute',
        'network.ipv6Prefix',
      ]),
    );
  });

  describe('refuses bad configuration, naming the key and where it came from', () => {
    it('a wrong type from a flag', () => {
      const err = failure({ flags: { 'listen.port': 'eighty' } });
      expect(err.code).toBe('config.invalid');
      expect(err.message).toContain('listen.port (from flag --listen.port)');
    });

    it('an out-of-range value from the environment', () => {
      const err = failure({ env: { TRELLIS_LISTEN_PORT: '99999' } });
      expect(err.code).toBe('config.invalid');
      expect(err.message).toContain('listen.port (from environment variable TRELLIS_LISTEN_PORT)');
    });

    it('a duration that would overflow a timer or push a node expiry past the storable times', () => {
      // A Node timer longer than 2^31 - 1 ms fires at once: ephemeral nodes would be removed at once.
      const grace = failure({ env: { TRELLIS_NODES_EPHEMERAL_GRACE_SECONDS: String(25 * 24 * 3600) } });
      expect(grace.message).toContain('nodes.ephemeralGraceSeconds');
      const expiry = failure({ env: { TRELLIS_NODES_KEY_EXPIRY_SECONDS: '10000000000000' } });
      expect(expiry.message).toContain('nodes.keyExpirySeconds');
      expect(
        loadConfig({ env: { TRELLIS_NODES_EPHEMERAL_GRACE_SECONDS: String(24 * 24 * 3600) } }).nodes,
      ).toMatchObject({
        ephemeralGraceSeconds: 24 * 24 * 3600,
      });
    });

    it('a bad value in the file', () => {
      const file = yamlFile('log:\n  level: loud\n');
      const err = failure({ file });
      expect(err.code).toBe('config.invalid');
      expect(err.message).toContain(`log.level (from ${file})`);
    });

    it('blames the source that actually supplied the bad value', () => {
      const file = yamlFile('listen:\n  port: 8081\n');
      const err = failure({ file, flags: { 'listen-port': '-5' } });
      expect(err.message).toContain('listen.port (from flag --listen-port)');
      expect(err.message).not.toContain(file);
    });

    it('a bad URL and a bad domain, both reported', () => {
      const err = failure({ flags: { publicUrl: 'not a url', 'network.domain': 'Bad_Domain' } });
      expect(err.message).toContain('publicUrl (from flag --publicUrl)');
      expect(err.message).toContain('network.domain (from flag --network.domain)');
    });

    it('a nameserver that is not an IP address, and an audit retention that is not a day count', () => {
      const err = failure({
        env: { TRELLIS_NETWORK_NAMESERVERS: '1.1.1.1, dns.google' },
        flags: { 'audit.retentionDays': '-1' },
      });
      expect(err.message).toMatch(
        /network\.nameservers\.1 \(from environment variable TRELLIS_NETWORK_NAMESERVERS\): must be an IP address/,
      );
      expect(err.message).toContain('audit.retentionDays (from flag --audit.retentionDays)');
    });

    it('a PROXY-protocol source that is not an IP or CIDR, and a header timeout out of range', () => {
      const err = failure({
        flags: {
          'listen.proxyProtocol.from': '10.0.0.11, 10.0.0.0/8, 10.0.0.1/24',
          'listen.proxyProtocol.headerTimeoutMs': '5',
        },
      });
      expect(err.message).toMatch(
        /listen\.proxyProtocol\.from\.2 \(from flag --listen\.proxyProtocol\.from\): "10\.0\.0\.1\/24" has host bits set/,
      );
      expect(err.message).toContain(
        'listen.proxyProtocol.headerTimeoutMs (from flag --listen.proxyProtocol.headerTimeoutMs)',
      );
      expect(err.message).not.toMatch(/from\.[01] /);
    });

    it('unknown keys in the file, top-level and nested', () => {
      const file = yamlFile('listen:\n  port: 1\n  prot: 2\nbogus: true\n');
      const err = failure({ file });
      expect(err.code).toBe('config.invalid');
      expect(err.message).toContain('listen.prot');
      expect(err.message).toContain('bogus');
      expect(err.message).toContain(file);
    });

    it('an unknown flag, listing the known ones', () => {
      const err = failure({ flags: { 'listen.prot': '1' } });
      expect(err.code).toBe('config.unknown_flag');
      expect(err.message).toContain('--listen.prot');
      expect(err.message).toContain('--listen.port');
    });

    it('a file that cannot be read', () => {
      const missing = join(dir, 'missing.yaml');
      const err = failure({ file: missing });
      expect(err.code).toBe('config.unreadable');
      expect(err.message).toContain(missing);
    });

    it('a file that is not YAML, or not a mapping', () => {
      const broken = yamlFile('listen: [1, 2\n');
      const e1 = failure({ file: broken });
      expect(e1.code).toBe('config.bad_yaml');
      expect(e1.message).toContain(broken);
      const list = yamlFile('- a\n- b\n');
      const e2 = failure({ file: list });
      expect(e2.code).toBe('config.bad_yaml');
      expect(e2.message).toContain(list);
    });
  });
});
