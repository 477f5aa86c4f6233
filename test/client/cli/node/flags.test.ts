import { describe, expect, it } from 'vitest';
import { credentialFrom } from '../../../../client/cli/local/credentials.ts';
import { cidrList, hostname, ipAddress, serverUrl, tagList } from '../../../../client/cli/local/flags.ts';

const fails = (fn: () => unknown, message: string | RegExp, exitCode = 2) =>
  expect(fn).toThrow(
    expect.objectContaining({
      exitCode,
      message: typeof message === 'string' ? expect.stringContaining(message) : expect.stringMatching(message),
    }),
  );

describe('node command values', () => {
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
    fails(() => ipAddress('IP', '100.64.0'), 'IP: "100.64.0" is not an IPv4 or IPv6 address');
  });

  it('are usage errors, coded as the parser codes its own', () => {
    expect(() => serverUrl('server', 'nope')).toThrow(expect.objectContaining({ code: 'cli.bad_value', exitCode: 2 }));
    expect(() => tagList('advertise-tags', 'web')).toThrow(expect.objectContaining({ code: 'cli.bad_value' }));
  });
});

describe('credentials for trellis up', () => {
  const flags = (values: Record<string, string>) => values;

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
    const other = { flags: {}, credential: async () => ({ type: 'preauth-key' as const, key: 'x' }) };
    const mine = {
      flags: {},
      credential: async () => ({ type: 'preauth-key' as const, key: 'y' }),
    };
    await expect(credentialFrom(flags({}), {}, [mine, other])).rejects.toMatchObject({
      message: expect.stringContaining('give one way to sign in'),
    });
  });
});
