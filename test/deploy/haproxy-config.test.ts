import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { haproxyPrerequisite } from '../support/haproxy.ts';
import { describeWith } from '../support/prerequisites.ts';

const FILE = 'deploy/haproxy/haproxy.cfg';

describeWith([haproxyPrerequisite()], FILE, () => {
  const text = readFileSync(FILE, 'utf8');

  it('is a configuration haproxy accepts (haproxy -c)', () => {
    expect(execFileSync('haproxy', ['-c', '-f', FILE], { encoding: 'utf8' })).toMatch(/valid/);
  });

  it('balances TCP, with no stickiness, checking each replica where the server answers its health', () => {
    expect(text).toMatch(/^\s*mode tcp$/m);
    expect(text).not.toMatch(/\bstick\b|\bcookie\b/);
    expect(text).toMatch(/^\s*option httpchk GET \/healthz$/m);
    expect(text).toMatch(/on-marked-down shutdown-sessions/);
  });

  it("sends every replica the client's address in a PROXY v2 header, on each server and its checks", () => {
    const defaults = text.match(/^\s*default-server .*$/m)?.[0] ?? '';
    expect(defaults).toMatch(/\bsend-proxy-v2\b/);
    // A `port` or `addr` on a check would make haproxy send that check without the header.
    expect(text).not.toMatch(/^\s*server .*\b(port|addr|no-send-proxy-v2)\b/m);
  });
});
