import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../server/config/errors.ts';
import { loadConfig } from '../../../server/config/load.ts';
import { roleOf } from '../../../server/console/roles.ts';

describe('console configuration: roles and sessions', () => {
  it('defaults to no roles, a 30-minute idle limit and a 12-hour session', () => {
    const c = loadConfig({});
    expect(c.console.roles.admin).toEqual({ users: [], groups: [] });
    expect(c.console.sessionIdleSeconds).toBe(1800);
    expect(c.console.sessionMaxSeconds).toBe(12 * 3600);
    expect(c.listen.trustProxy).toBe(false);
  });

  it('takes roles and listen.trustProxy from the environment', () => {
    const c = loadConfig({
      env: {
        TRELLIS_CONSOLE_ROLES_ADMIN_USERS: 'root@example.com, boss@example.com',
        TRELLIS_CONSOLE_ROLES_NETWORK_ADMIN_GROUPS: 'netops',
        TRELLIS_LISTEN_TRUST_PROXY: 'true',
      },
    });
    expect(c.console.roles.admin.users).toEqual(['root@example.com', 'boss@example.com']);
    expect(c.console.roles['network-admin'].groups).toEqual(['netops']);
    expect(c.listen.trustProxy).toBe(true);
  });

  it('refuses, with a coded error naming the key and its source: a bad email, an unknown role, idle longer than the session', () => {
    const refused = (flags: Record<string, string>) => {
      try {
        loadConfig({ flags });
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return e as ConfigError;
      }
      throw new Error('accepted');
    };
    const email = refused({ 'console.roles.admin.users': 'not-an-email' });
    expect(email.code).toBe('config.invalid');
    expect(email.message).toContain('console.roles.admin.users.0 (from flag --console.roles.admin.users)');
    const long = refused({ 'console.sessionIdleSeconds': '7200', 'console.sessionMaxSeconds': '3600' });
    expect(long.message).toContain('console.sessionIdleSeconds');
    expect(long.message).toContain('must not exceed console.sessionMaxSeconds');
    expect(refused({ 'listen.trustProxy': 'yes' }).message).toContain(
      'listen.trustProxy (from flag --listen.trustProxy)',
    );
    expect(() => loadConfig({ flags: { 'console.roles.owner.users': 'a@b.c' } })).toThrow(/unknown flag/);
  });

  it('gives the first matching role, most powerful first, by email without case or by group; else member', () => {
    const roles = loadConfig({
      flags: {
        'console.roles.admin.users': 'Root@Example.com',
        'console.roles.network-admin.groups': 'netops',
        'console.roles.auditor.groups': 'netops,audit',
      },
    }).console.roles;
    expect(roleOf({ email: 'root@example.com', groups: ['audit'] }, roles)).toBe('admin');
    expect(roleOf({ email: 'n@example.com', groups: ['audit', 'netops'] }, roles)).toBe('network-admin');
    expect(roleOf({ email: 'a@example.com', groups: ['audit'] }, roles)).toBe('auditor');
    expect(roleOf({ email: 'm@example.com', groups: ['eng'] }, roles)).toBe('member');
  });
});
