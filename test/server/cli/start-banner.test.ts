/** Where `serve` tells nodes to join: never a wildcard address, and what to set for other machines. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onReachableOrigin, reachability } from '../../../server/cli/reachability.ts';
import { adminFlags, firstStartBanner, reachabilityNote } from '../../../server/cli/start-banner.ts';
import { freePort } from '../../support/haproxy.ts';

const SERVER_BIN = join(import.meta.dirname, '../../../bin/trellis-server.js');
const ADDRESSES = () => ['192.0.2.10', '2001:db8::10'];
const banner = (host: string, publicUrl?: string, addresses = ADDRESSES) =>
  firstStartBanner({
    reach: reachability(
      { host, port: 8080 },
      publicUrl,
      `http://${host.includes(':') ? `[${host}]` : host}:8080`,
      addresses,
    ),
    relay: 'UDP port 3478',
    dataFile: '/var/lib/trellis/trellis.db',
    adminKey: 'trellis-api-x',
    keyFile: '/var/lib/trellis/admin-api-key',
    adminFlags: '',
  });

describe('the first-start banner', () => {
  it('on a wildcard address without publicUrl, never offers 0.0.0.0 and names the machine addresses', () => {
    const text = banner('0.0.0.0');
    expect(text).not.toContain('0.0.0.0');
    expect(text).toContain('URL:        every address of this machine, port 8080 (no publicUrl set)');
    expect(text).toContain("This machine's addresses: http://192.0.2.10:8080.");
    expect(text).toContain('--public-url URL, or TRELLIS_PUBLIC_URL');
    expect(text).toContain('sudo npx trellis up --server http://192.0.2.10:8080 --auth-key');
  });

  it('on :: offers IPv6 addresses too, bracketed, and never [::]', () => {
    const text = banner('::');
    expect(text).toContain("This machine's addresses: http://192.0.2.10:8080, http://[2001:db8::10]:8080.");
    expect(text).not.toMatch(/\[::\]|http:\/\/::/);
  });

  it('with no address but loopback, says so and leaves the address for the user to fill in', () => {
    const text = banner('0.0.0.0', undefined, () => []);
    expect(text).toContain('no address but loopback');
    expect(text).toContain("--server http://<this machine's address>:8080");
  });

  it('with publicUrl, offers exactly that and adds no note', () => {
    const text = banner('0.0.0.0', 'https://trellis.example.com');
    expect(text).toContain('URL:        https://trellis.example.com');
    expect(text).toContain('--server https://trellis.example.com --auth-key');
    expect(text).not.toContain('publicUrl');
  });

  it('on loopback (the default), says that only this machine can join, and how to open it up', () => {
    const text = banner('127.0.0.1');
    expect(text).toContain('--server http://127.0.0.1:8080');
    expect(text).toContain('Only this machine can join http://127.0.0.1:8080');
    expect(text).toContain('--listen.host 0.0.0.0');
    expect(text).toContain('--public-url');
  });

  it('on a specific address, offers it as it is', () => {
    expect(
      reachabilityNote(reachability({ host: '192.0.2.10', port: 8080 }, undefined, 'http://192.0.2.10:8080')),
    ).toEqual([]);
  });
});

describe('a sign-in link made from the server URL', () => {
  it('on a wildcard address moves to the origin the caller reaches', () => {
    expect(onReachableOrigin('http://0.0.0.0:8080/console/sign-in?link=abc', 'http://192.0.2.10:8080')).toBe(
      'http://192.0.2.10:8080/console/sign-in?link=abc',
    );
    expect(onReachableOrigin('http://[::]:8080/console/sign-in?link=abc', 'http://127.0.0.1:8080/')).toBe(
      'http://127.0.0.1:8080/console/sign-in?link=abc',
    );
  });

  it('on a real address or a publicUrl stays as it is', () => {
    const link = 'https://trellis.example.com/console/sign-in?link=abc';
    expect(onReachableOrigin(link, 'http://127.0.0.1:8080')).toBe(link);
  });
});

describe('the admin commands the banner prints', () => {
  it('need no flags for the default URL and ./data', () => {
    expect(adminFlags('http://127.0.0.1:8080', 'data', '/srv')).toBe('');
    expect(adminFlags('http://127.0.0.1:8080', './data', '/srv')).toBe('');
  });

  it('name the server and the data directory when they are not the CLI defaults', () => {
    expect(adminFlags('http://127.0.0.1:18080', '/tmp/t', '/srv')).toBe(
      ' --server http://127.0.0.1:18080 --data-dir /tmp/t',
    );
    expect(adminFlags('http://127.0.0.1:8080', 'state', '/srv')).toBe(' --data-dir /srv/state');
  });
});

describe('trellis-server serve on 0.0.0.0', () => {
  it('prints no 0.0.0.0 join URL or console link, and says to set publicUrl', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-banner-'));
    const args = ['serve', '--data-dir', dir, '--listen.host', '0.0.0.0', '--listen.port', '0'];
    const child = spawn('node', [SERVER_BIN, ...args, '--relay.udpPort', '-1', '--log.level', 'silent'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    });
    try {
      let stderr = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no banner within 15 s: ${stderr}`)), 15_000);
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          if (
            stderr.includes('Join a first node') &&
            stderr.includes('configure oidc.providers for everyday sign-in')
          ) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
      });
      expect(stderr).not.toContain('0.0.0.0');
      expect(stderr).toMatch(/^ {2}http:\/\/[^/]+:\d+\/console\/sign-in\?link=/m);
      expect(stderr).toContain('no publicUrl set');
      expect(stderr).toMatch(/--public-url URL/);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('trellis-server serve on a fresh store', () => {
  it('has written the admin key file by the time its port accepts a connection', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-key-first-'));
    const port = await freePort('127.0.0.1');
    const child = spawn(
      'node',
      [SERVER_BIN, 'serve', '--data-dir', dir, '--listen.port', String(port), '--relay.udpPort', '-1'],
      { env: { PATH: process.env.PATH, HOME: process.env.HOME }, stdio: 'ignore' },
    );
    try {
      const deadline = Date.now() + 20_000;
      while (!(await accepts(port))) {
        if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}`);
        if (Date.now() > deadline) throw new Error('serve never listened');
      }
      expect(readFileSync(join(dir, 'admin-api-key'), 'utf8')).toMatch(/^trellis-api-\S+\n$/);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Whether a TCP connection to the port succeeds now. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
