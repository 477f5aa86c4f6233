import { describe, expect, it } from 'vitest';
import { credentialFrom } from '../../../../client/cli/local/credentials.ts';
import {
  cidrList,
  hostname,
  ipAddress,
  parseFlags,
  port,
  serverUrl,
  tagList,
} from '../../../../client/cli/local/flags.ts';

const USAGE = 'usage: trellis test';
const spec = { values: ['server', 'auth-key'], switches: ['json'], positional: { min: 0, max: 1, names: 'PEER' } };
const fails = (fn: () => unknown, message: string | RegExp, exitCode = 2) =>
  expect(fn).toThrow(
    expect.objectContaining({
      exitCode,
      message: typeof message === 'string' ? expect.stringContaining(message) : expect.stringMatching(message),
    }),
  );

describe('node command flags', () => {
  it('reads --name value, --name=value, switches and positionals', () => {
    const p = parseFlags(['--server', 'http://s', '--auth-key=k=1', '--json', 'web'], spec, USAGE);
    expect(Object.fromEntries(p.values)).toEqual({ server: 'http://s', 'auth-key': 'k=1' });
    expect([...p.switches]).toEqual(['json']);
    expect(p.positional).toEqual(['web']);
  });

  it('refuses unknown, valueless, repeated and surplus arguments with the usage', () => {
    fails(() => parseFlags(['--serve', 'x'], spec, USAGE), /^unknown option --serve\nusage/);
    fails(() => parseFlags(['--server'], spec, USAGE), '--server needs a value');
    fails(() => parseFlags(['--server', '--json'], spec, USAGE), '--server needs a value');
    fails(() => parseFlags(['--server', 'a', '--server', 'b'], spec, USAGE), '--server given twice');
    fails(() => parseFlags(['--json=yes'], spec, USAGE), '--json takes no value');
    fails(() => parseFlags(['a', 'b'], spec, USAGE), 'unexpected argument "b"');
    fails(() => parseFlags([], { values: [], positional: { min: 1, max: 1, names: 'IP' } }, USAGE), 'missing IP');
  });

  it('answers --help with the usage and exit status 0', () => {
    fails(() => parseFlags(['--help'], spec, USAGE), USAGE, 0);
  });

  it('checks each value where it enters, naming the flag and the value', () => {
    expect(serverUrl('server', 'https://t.example.com/')).toBe('https://t.example.com');
    fails(() => serverUrl('server', 't.example.com'), '--server: "t.example.com" is not a URL');
    fails(() => serverUrl('server', 'ftp://t.example.com'), 'must be an http:// or https:// URL');
    fails(() => serverUrl('server', 'https://u:p@t.example.com'), 'must not carry a user or password');
    expect(cidrList('advertise-routes', '10.1.0.0/16, 10.2.0.0/16,10.1.0.0/16')).toEqual([
      '10.1.0.0/16',
      '10.2.0.0/16',
    ]);
    fails(
      () => cidrList('advertise-routes', '10.1.0.1/16'),
      '--advertise-routes: "10.1.0.1/16" is not a CIDR prefix with host bits clear',
    );
    fails(() => cidrList('advertise-routes', '10.1.0.1'), 'is not a CIDR prefix');
    expect(tagList('advertise-tags', 'tag:web,tag:db-1')).toEqual(['tag:web', 'tag:db-1']);
    fails(() => tagList('advertise-tags', 'web'), '--advertise-tags: "web" is not a tag');
    fails(() => hostname('hostname', 'my_host'), '--hostname: "my_host" must be a DNS label');
    fails(() => port('port', '70000'), '--port: "70000" must be a port number 1-65535');
    fails(() => ipAddress('IP', '100.64.0'), 'IP: "100.64.0" is not an IPv4 or IPv6 address');
  });
});

describe('credentials for trellis up', () => {
  const flags = (values: Record<string, string>) => ({
    positional: [],
    values: new Map(Object.entries(values)),
    switches: new Set<string>(),
  });

  it('makes a pre-auth key credential from --auth-key or TRELLIS_AUTH_KEY, and none without', async () => {
    expect(await credentialFrom(flags({ 'auth-key': 'k1' }), {})).toEqual({ type: 'preauth-key', key: 'k1' });
    expect(await credentialFrom(flags({}), { TRELLIS_AUTH_KEY: 'k2' })).toEqual({ type: 'preauth-key', key: 'k2' });
    expect(await credentialFrom(flags({}), {})).toBeUndefined();
  });

  it('refuses a key with spaces without echoing it', async () => {
    const err = await credentialFrom(flags({ 'auth-key': 'secret value' }), {}).catch((e: unknown) => e);
    expect(err).toMatchObject({
      exitCode: 2,
      message: '--auth-key: a pre-auth key is 1-256 characters without spaces',
    });
  });

  it('refuses two ways of signing in at once', async () => {
    const other = { flags: ['token'], usage: '', credential: async () => ({ type: 'preauth-key' as const, key: 'x' }) };
    const mine = {
      flags: ['auth-key'],
      usage: '',
      credential: async () => ({ type: 'preauth-key' as const, key: 'y' }),
    };
    await expect(credentialFrom(flags({}), {}, [mine, other])).rejects.toMatchObject({
      message: expect.stringContaining('give one way to sign in'),
    });
  });
});
