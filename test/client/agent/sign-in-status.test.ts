import { describe, expect, it } from 'vitest';
import { statusView } from '../../../client/agent/status-view.ts';
import { formatStatus } from '../../../client/cli/status.ts';
import { generateKeyPair } from '../../../client/wireguard/keys.ts';
import type { SelfNode } from '../../../protocol/node.ts';

const HOUR = 3_600_000;
const now = Date.parse('2026-11-22T10:00:00Z');
const self = (keyExpiry?: number): SelfNode => ({
  id: 'n-me',
  name: 'me',
  wireguardKey: generateKeyPair().publicKey,
  machineKey: generateKeyPair().publicKey,
  addresses: ['100.64.0.1/32'],
  allowedIPs: ['100.64.0.1/32'],
  endpoints: [],
  tags: [],
  online: true,
  user: 'me@example.com',
  ipv4: '100.64.0.1',
  ipv6: 'fd7a:115c:a1e0::1',
  ephemeral: false,
  advertisedRoutes: [],
  approvedRoutes: [],
  ...(keyExpiry !== undefined && { keyExpiry: new Date(keyExpiry).toISOString() }),
});
const view = (o: { expiry?: number; signedInAt?: number; workload?: boolean }) =>
  statusView({
    state: 'running',
    connected: true,
    iface: 'trellis0',
    listenPort: 41641,
    mapVersion: 1,
    peers: [],
    now,
    self: self(o.expiry),
    ...(o.signedInAt !== undefined && { signedInAt: o.signedInAt }),
    ...(o.workload && { workload: { source: 'token file /t' } }),
  });

describe('status: when a person must sign in again', () => {
  it('says nothing for a key without expiry or far from it', () => {
    expect(view({}).signIn).toBeUndefined();
    expect(view({ expiry: now + 30 * HOUR, signedInAt: now - HOUR }).signIn).toBeUndefined();
    // A one-hour key, 50 minutes left: not yet in its last fifth.
    expect(view({ expiry: now + 50 * 60_000, signedInAt: now - 10 * 60_000 }).signIn).toBeUndefined();
  });

  it("asks for a sign-in in the last fifth of the key's lifetime, at most a day ahead", () => {
    expect(view({ expiry: now + 10 * 60_000, signedInAt: now - 50 * 60_000 }).signIn).toEqual({
      state: 'soon',
      message: "this node's key expires in 10 min (at 2026-11-22T10:10:00.000Z): renew it with trellis up --login",
    });
    // A 90-day key: a day ahead, not 18 days.
    expect(view({ expiry: now + 25 * HOUR, signedInAt: now - 89 * 24 * HOUR }).signIn).toBeUndefined();
    expect(view({ expiry: now + 23 * HOUR, signedInAt: now - 89 * 24 * HOUR }).signIn?.message).toContain(
      'expires in 23 h 0 min',
    );
  });

  it('says the key expired once it has, and prints it in trellis status', () => {
    const s = view({ expiry: now - 1000, signedInAt: now - HOUR });
    expect(s.signIn).toMatchObject({ state: 'expired' });
    expect(formatStatus(s, new Date(now))).toContain(
      "sign in: this node's key expired at 2026-11-22T09:59:59.000Z: sign in again with trellis up --login\n",
    );
  });

  it('never asks a workload, which renews itself from its token source', () => {
    const s = view({ expiry: now + 60_000, signedInAt: now - HOUR, workload: true });
    expect(s.signIn).toBeUndefined();
    expect(formatStatus(s, new Date(now))).toContain('token:  token file /t\n');
  });

  it('tells a node that has not joined how to', () => {
    const s = statusView({
      state: 'needs-login',
      connected: false,
      iface: 'trellis0',
      listenPort: 41641,
      mapVersion: -1,
      peers: [],
    });
    expect(formatStatus(s, new Date(now))).toContain('sign in: trellis up --login (or --auth-key KEY)\n');
  });
});
