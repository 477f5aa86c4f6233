import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import type Database from 'better-sqlite3';
import { ed25519KeyProblem, keyBytes, x25519KeyProblem } from '../../../protocol/keys.ts';
import { EARLIEST_TIME_MS, LATEST_TIME_MS } from '../../../protocol/time.ts';

/**
 * Migration 3: node keys become their 32 bytes (BLOB), so that uniqueness and lookups compare
 * keys rather than spellings, and rows written before keys and times were checked are repaired
 * so that every later read succeeds:
 * - a key in a non-canonical base64 spelling is stored as its bytes (the same key);
 * - a WireGuard key another node already held (under another spelling), or one that no private
 *   key makes (low order, off the curve), and a machine key that proves nothing (small order):
 *   the node keeps its record, is expired, and its bad key is replaced by a fresh one whose
 *   private half no one has. It must sign in again, with a key of its own.
 * - a time out of range is brought to the nearest bound.
 * The table is rebuilt because SQLite cannot change a column's type in place.
 */
export function nodeKeysAsBytes(db: Database.Database, now: number): void {
  const rows = db.prepare('SELECT * FROM nodes ORDER BY created_at, id').all() as Array<Record<string, unknown>>;
  db.exec(`
    CREATE TABLE nodes_new (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL UNIQUE,
      machine_key BLOB NOT NULL UNIQUE,
      wireguard_key BLOB NOT NULL UNIQUE,
      ipv4 TEXT NOT NULL UNIQUE,
      ipv6 TEXT NOT NULL UNIQUE,
      user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
      tags TEXT NOT NULL,
      endpoints TEXT NOT NULL,
      advertised_routes TEXT NOT NULL,
      approved_routes TEXT NOT NULL,
      ephemeral INTEGER NOT NULL,
      os TEXT,
      last_seen INTEGER,
      expires_at INTEGER,
      created_at INTEGER NOT NULL,
      identity TEXT
    );
  `);
  const insert = db.prepare(`
    INSERT INTO nodes_new (id, name, machine_key, wireguard_key, ipv4, ipv6, user_id, tags, endpoints,
      advertised_routes, approved_routes, ephemeral, os, last_seen, expires_at, created_at, identity)
    VALUES (@id, @name, @machine_key, @wireguard_key, @ipv4, @ipv6, @user_id, @tags, @endpoints,
      @advertised_routes, @approved_routes, @ephemeral, @os, @last_seen, @expires_at, @created_at, @identity)
  `);
  const heldMachine = new Set<string>();
  const heldWireguard = new Set<string>();
  for (const row of rows) {
    const machine = usableKey(row.machine_key, heldMachine, ed25519KeyProblem);
    const wireguard = usableKey(row.wireguard_key, heldWireguard, x25519KeyProblem);
    const repaired = !machine || !wireguard;
    const machineKey = machine ?? ed25519.getPublicKey(ed25519.utils.randomSecretKey());
    const wireguardKey = wireguard ?? x25519.getPublicKey(x25519.utils.randomSecretKey());
    heldMachine.add(Buffer.from(machineKey).toString('hex'));
    heldWireguard.add(Buffer.from(wireguardKey).toString('hex'));
    const expiresAt = boundedTime(row.expires_at);
    insert.run({
      ...row,
      machine_key: Buffer.from(machineKey),
      wireguard_key: Buffer.from(wireguardKey),
      last_seen: boundedTime(row.last_seen),
      expires_at: repaired ? Math.min(expiresAt ?? now, now) : expiresAt,
      created_at: boundedTime(row.created_at) ?? now,
    });
  }
  db.exec(`
    DROP TABLE nodes;
    ALTER TABLE nodes_new RENAME TO nodes;
    CREATE INDEX nodes_user ON nodes(user_id);
  `);
}

/** The key's bytes, if they are a usable key no earlier row holds; undefined if it must be replaced. */
function usableKey(
  stored: unknown,
  held: Set<string>,
  problem: (bytes: Uint8Array) => unknown,
): Uint8Array | undefined {
  if (typeof stored !== 'string') return undefined;
  const decoded = Buffer.from(stored, 'base64');
  // keyBytes of the canonical spelling: the same 32 bytes, checked as a key.
  const bytes = decoded.length === 32 ? keyBytes(decoded.toString('base64')) : undefined;
  if (!bytes || problem(bytes) || held.has(Buffer.from(bytes).toString('hex'))) return undefined;
  return bytes;
}

function boundedTime(value: unknown): number | null {
  if (typeof value !== 'number' || Number.isNaN(value)) return null;
  return Math.min(Math.max(Math.trunc(value), EARLIEST_TIME_MS), LATEST_TIME_MS);
}
