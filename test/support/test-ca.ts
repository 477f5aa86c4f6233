import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A throw-away certificate authority for tests that need TLS for names or addresses known only
 * at run time (a mesh address, a lab host): made with the openssl command line, in a temporary
 * directory that is gone when the call returns. EC P-256 keys: quick to make.
 */
export interface TestCa {
  cert: string;
  key: string;
}

export interface IssuedCert {
  /** The CA certificate that signed it (what a client trusts). */
  ca: string;
  cert: string;
  key: string;
}

export function createTestCa(name = 'trellis test CA'): TestCa {
  return withDir((dir) => {
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(dir, 'ca.key')]);
    openssl([
      'req',
      '-x509',
      '-new',
      '-key',
      join(dir, 'ca.key'),
      '-subj',
      `/CN=${name}`,
      '-days',
      '2',
      '-out',
      join(dir, 'ca.crt'),
    ]);
    return { cert: readFileSync(join(dir, 'ca.crt'), 'utf8'), key: readFileSync(join(dir, 'ca.key'), 'utf8') };
  });
}

export function issueTestCert(ca: TestCa, names: { ips?: string[]; dns?: string[] }): IssuedCert {
  return withDir((dir) => {
    writeFileSync(join(dir, 'ca.crt'), ca.cert);
    writeFileSync(join(dir, 'ca.key'), ca.key, { mode: 0o600 });
    const san = [...(names.dns ?? []).map((d) => `DNS:${d}`), ...(names.ips ?? []).map((i) => `IP:${i}`)].join(',');
    writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(dir, 'leaf.key')]);
    openssl([
      'req',
      '-new',
      '-key',
      join(dir, 'leaf.key'),
      '-subj',
      `/CN=${names.dns?.[0] ?? names.ips?.[0] ?? 'leaf'}`,
      '-out',
      join(dir, 'leaf.csr'),
    ]);
    openssl([
      'x509',
      '-req',
      '-in',
      join(dir, 'leaf.csr'),
      '-CA',
      join(dir, 'ca.crt'),
      '-CAkey',
      join(dir, 'ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      join(dir, 'ext.cnf'),
      '-out',
      join(dir, 'leaf.crt'),
    ]);
    return {
      ca: ca.cert,
      cert: readFileSync(join(dir, 'leaf.crt'), 'utf8'),
      key: readFileSync(join(dir, 'leaf.key'), 'utf8'),
    };
  });
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function withDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-ca-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
